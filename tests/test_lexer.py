"""The fast lexer emits what lark's own lexer would for the grammar's terminals."""

from __future__ import annotations

import pytest
from lark import Lark

from benchmarks.generate import generate
from hookpipe.dsl.grammar import grammar_text, lexer, terminals
from hookpipe.dsl.parser import parse_text
from hookpipe.dsl.problems import BadCharacter
from hookpipe.dsl.tokens import Tok
from tests.helpers import ROOT

SAMPLES = [p.read_text() for p in sorted((ROOT / "examples").rglob("*.pipe"))] + [
    generate(300),
    'x = -1 -0.5 1e-3 1_000 2.5E+10 "a\\"b" a.b ->c beforehand before reads_x reads\n\n\n',
    "hook a = t(\n  x = [1,\n 2],\n  y = { k = 1,\n },\n)\n",
    # a digit outside ASCII is an INT for the grammar's \\d; blanks before a newline, \r\n, a comment
    'x = \u0663 -7 1_0 "" "\\\\" # note\r\n  \t\n\n',
]


def reference(text: str) -> list[tuple[str, str, int, int]]:
    lark = Lark(grammar_text(), parser="lalr", lexer="basic")
    return [(t.type, str(t), t.line or 0, t.column or 0) for t in lark.lex(text) if t.type != "_NL"]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_tokens_as_lark(text: str) -> None:
    ours = [(t.type, t.value, t.line, t.column) for t in tokens(text) if t.type != "_NL"]
    assert ours == reference(text)


def tokens(text: str) -> list[Tok]:
    return list(lexer().tokens(text))


def test_keywords_and_symbols_come_from_the_grammar() -> None:
    table = terminals()
    assert table.keywords["hook"] == "HOOK" and table.keywords["every"] == "EVERY" and table.keywords["at"] == "AT"
    assert table.punctuation == {"{": "LBRACE", "}": "RBRACE", "(": "LPAR", ")": "RPAR", "[": "LSQB", "]": "RSQB",
                                 ",": "COMMA", "=": "EQUAL", ".": "DOT", "->": "_ARROW"}
    # data-carrying keywords (named in the grammar) stay; anonymous ones only shape the syntax
    assert "BEFORE" not in table.syntax_only and "READS" not in table.syntax_only
    assert {"HOOK", "LBRACE", "_ARROW", "_NL", "AT"} <= table.syntax_only


def test_a_new_keyword_is_one_edit_in_the_grammar() -> None:
    from hookpipe.dsl.lexer import Lexer
    from hookpipe.dsl.terminals import Terminals

    grammar = grammar_text().replace('order: "order"', 'order: "ordering"')
    lark = Lark(grammar, parser="lalr", lexer="basic")
    kinds = [t.type for t in Lexer(Terminals.from_grammar(lark.terminals, grammar)).tokens("ordering a before b")]
    assert kinds == ["ORDERING", "NAME", "BEFORE", "NAME"]


def test_newlines_only_where_they_separate_items() -> None:
    text = "\n\nhook a = t(\n x = 1\n)\n\n\nloop {\n after {\n  a ->\n  b\n }\n}\n"
    kinds = [t.type for t in tokens(text)]
    assert kinds.count("_NL") == 6  # after the hook, `loop {`, `after {`, `b` and both `}`
    assert "_NL" not in kinds[kinds.index("LPAR"):kinds.index("RPAR")]
    arrow = kinds.index("_ARROW")
    assert kinds[arrow + 1] == "NAME"


def test_stray_character_is_reported_with_position() -> None:
    with pytest.raises(BadCharacter) as info:
        tokens("hook a = t()\nhook b = $\n")
    assert (info.value.line, info.value.column, info.value.char) == (2, 10, "$")


def test_a_stray_character_waits_for_the_tokens_before_it() -> None:
    tokens, problem = lexer().scan("hook a b $ c")
    assert [t[1] for t in tokens] == ["hook", "a", "b"]
    assert isinstance(problem, BadCharacter) and (problem.line, problem.column) == (1, 10)
    # the parser meets the mistake at `b` first, so that is the one reported
    (d,) = parse_text("hook a b $ c\n", "t.pipe").diagnostics
    assert d.message.startswith("unexpected name `b`") and d.span.column == 8
