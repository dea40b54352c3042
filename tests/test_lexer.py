"""The tokens lark's lexer and the layout post-lexer hand the parser, and the lexer's cost on hostile lines."""

from __future__ import annotations

import time

import pytest
from lark import Lark

from benchmarks.hostile_lines import SHAPES, line, parse_seconds
from hookpipe.dsl.grammar import grammar_text, terminals, tokens
from hookpipe.dsl.layout import Layout
from hookpipe.dsl.parser import parse_text
from hookpipe.dsl.problems import BadCharacter
from hookpipe.dsl.terminals import Terminals


def kinds(text: str) -> list[str]:
    return [t.type for t in tokens(text)]


def test_keywords_and_symbols_come_from_the_grammar() -> None:
    table = terminals()
    assert table.keywords["hook"] == "HOOK" and table.keywords["every"] == "EVERY" and table.keywords["at"] == "AT"
    assert table.punctuation == {"{": "LBRACE", "}": "RBRACE", "(": "LPAR", ")": "RPAR", "[": "LSQB", "]": "RSQB",
                                 ",": "COMMA", "=": "EQUAL", ".": "DOT", "->": "_ARROW"}
    # data-carrying keywords (named in the grammar) stay; anonymous ones only shape the syntax
    assert "BEFORE" not in table.syntax_only and "READS" not in table.syntax_only
    assert {"HOOK", "LBRACE", "_ARROW", "_NL", "AT"} <= table.syntax_only


def test_a_new_keyword_is_one_edit_in_the_grammar() -> None:
    grammar = grammar_text().replace('order: "order"', 'order: "ordering"')
    lark = Lark(grammar, parser="lalr", lexer="basic", postlex=Layout())
    assert [t.type for t in lark.lex("ordering a before b")] == ["ORDERING", "NAME", "BEFORE", "NAME"]
    assert Terminals.from_grammar(lark.terminals, grammar).keywords["ordering"] == "ORDERING"


def test_token_kinds_and_positions() -> None:
    text = 'x = -1 -0.5 1e-3 1_000 2.5E+10 "a\\"b" a.b ->c beforehand before reads_x reads\n'
    found = [(t.type, t.value, t.line, t.column) for t in tokens(text)]
    assert [k for k, *_ in found] == ["NAME", "EQUAL", "INT", "FLOAT", "FLOAT", "INT", "FLOAT", "STRING", "NAME",
                                      "DOT", "NAME", "_ARROW", "NAME", "NAME", "BEFORE", "NAME", "READS", "_NL"]
    assert found[7] == ("STRING", '"a\\"b"', 1, 32)


def test_newlines_only_where_they_separate_items() -> None:
    text = "\n\nhook a = t(\n x = 1\n)\n\n\nloop {\n after {\n  a ->\n  b\n }\n}\n"
    found = kinds(text)
    assert found.count("_NL") == 6  # after the hook, `loop {`, `after {`, `b` and both `}`
    assert "_NL" not in found[found.index("LPAR"):found.index("RPAR")]
    arrow = found.index("_ARROW")
    assert found[arrow + 1] == "NAME"


def test_blank_and_comment_lines_are_one_separator() -> None:
    found = kinds("hook a = t()\n  \n# note\n\t\nhook b = t()\r\n")
    assert found.count("_NL") == 2 and found[found.index("_NL") + 1] == "HOOK"


def test_value_tables_are_layout_but_blocks_are_not() -> None:
    found = kinds("hook a = t(x = {\n k = 1,\n}) {\n reads r\n}\n")
    table = found[found.index("LBRACE"):found.index("RPAR")]
    assert "_NL" not in table
    assert found[found.index("RPAR") + 1:found.index("READS")] == ["LBRACE", "_NL"]


def test_stray_character_is_reported_with_position() -> None:
    with pytest.raises(BadCharacter) as info:
        list(tokens("hook a = t()\nhook b = $\n"))
    assert (info.value.line, info.value.column, info.value.char) == (2, 10, "$")


def test_a_stray_character_waits_for_the_tokens_before_it() -> None:
    # the parser meets the mistake at `b` first, so that is the one reported
    (d,) = parse_text("hook a b $ c\n", "t.pipe").diagnostics
    assert d.message.startswith("unexpected name `b`") and d.span.column == 8


def test_an_unterminated_string_is_one_error_at_its_quote() -> None:
    (d,) = parse_text('hook a = t()\nuse m = "pkg.mod\nhook b = t()\n', "t.pipe").diagnostics
    assert (d.code, d.span.line, d.span.column) == ("HP001", 2, 9)
    assert d.message == "this string is never closed"
    assert d.help is not None and "on the line it starts" in d.help


@pytest.mark.parametrize("digit", ["\u09ea", "\u0663", "\uff14", "\U0001d7ce"])
def test_numbers_take_ascii_digits_only(digit: str) -> None:
    """`max_step = ৪0` (Bengali four, which looks like 8) is not 40: HP001, naming the character."""
    (d,) = parse_text(f"trainer {{\n    max_step = {digit}0\n}}\n", "t.pipe").diagnostics
    assert (d.code, d.span.line, d.span.column) == ("HP001", 2, 16)
    assert d.message.startswith(f"`{digit}` (U+{ord(digit):04X} ") and "is not an ASCII digit" in d.message
    assert d.help == "numbers are written with the digits 0-9"
    # after an ASCII digit, too: `4৪` is not 48
    (d,) = parse_text(f"trainer {{\n    max_step = 4{digit}\n}}\n", "t.pipe").diagnostics
    assert (d.span.line, d.span.column) == (2, 17) and "is not an ASCII digit" in d.message


def test_ascii_numbers_still_parse() -> None:
    result = parse_text("trainer {\n    max_step = 40\n    lr = 1_0.5e-3\n}\n", "t.pipe")
    assert result.file is not None
    values = [s.value for s in result.file.items[0].settings]  # type: ignore[union-attr]
    assert [v.value for v in values] == [40, 10.5e-3]  # type: ignore[union-attr]


# Linear time on hostile lines. A string pattern that backtracks rescans the rest of
# the line from every quote: the time grows with the square of the length (a line of
# `"\` pairs took 20 s at 32,000 characters). Eight times the length may cost at most
# 24 times the time here (linear: 8; quadratic: 64): a bound loose enough for a
# shared machine, tight enough to catch the quadratic shape. The figures themselves
# are `python -m benchmarks.hostile_lines`'s. Timed in process CPU time, which other
# work on the machine disturbs less than the wall clock.
SHORT, LONG = 4_000, 32_000


@pytest.mark.parametrize("shape", list(SHAPES))
def test_hostile_lines_cost_linear_time(shape: str) -> None:
    parse_seconds(line(shape, 100), 1)  # the parser and the HP001 help index are built once, beforehand
    short = parse_seconds(line(shape, SHORT), 7, time.process_time)
    long = parse_seconds(line(shape, LONG), 7, time.process_time)
    assert long < 24 * short, (shape, short, long)


def test_the_hostile_lines_end_in_one_diagnostic_or_parse() -> None:
    for shape in SHAPES:
        result = parse_text(line(shape, LONG), "t.pipe")
        assert len(result.diagnostics) <= 1, shape
        assert (result.file is None) == bool(result.diagnostics), shape

