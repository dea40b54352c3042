"""The fast lexer emits what lark's own lexer would for the grammar's terminals."""

from __future__ import annotations

from pathlib import Path

import pytest
from lark import Lark

from benchmarks.generate import generate
from hookpipe.dsl.grammar import grammar_text
from hookpipe.dsl.lexer import KEYWORDS, tokens
from hookpipe.dsl.problems import BadCharacter

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = [p.read_text() for p in sorted((ROOT / "examples").rglob("*.pipe"))] + [
    generate(300),
    'x = -1 -0.5 1e-3 1_000 2.5E+10 "a\\"b" a.b ->c beforehand before reads_x reads\n\n\n',
    "hook a = t(\n  x = [1,\n 2],\n  y = { k = 1,\n },\n)\n",
]


def reference(text: str) -> list[tuple[str, str, int, int]]:
    lark = Lark(grammar_text(), parser="lalr", lexer="basic")
    return [(t.type, str(t), t.line or 0, t.column or 0) for t in lark.lex(text) if t.type != "_NL"]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_tokens_as_lark(text: str) -> None:
    ours = [(t.type, t.value, t.line, t.column) for t in tokens(text) if t.type != "_NL"]
    assert ours == reference(text)


def test_keywords_match_the_grammar() -> None:
    lark = Lark(grammar_text(), parser="lalr", lexer="basic")
    literal_words = {t.name for t in lark.terminals if t.pattern.type == "str" and t.pattern.value.isalpha()}
    assert set(KEYWORDS.values()) == literal_words


def test_newlines_only_where_they_separate_items() -> None:
    text = "\n\nhook a = t(\n x = 1\n)\n\n\nloop {\n after {\n  a ->\n  b\n }\n}\n"
    kinds = [t.type for t in tokens(text)]
    assert kinds.count("_NL") == 6  # after the hook, `loop {`, `after {`, `b` and both `}`
    assert "_NL" not in kinds[kinds.index("LPAR"):kinds.index("RPAR")]
    arrow = kinds.index("_ARROW")
    assert kinds[arrow + 1] == "NAME"


def test_stray_character_is_reported_with_position() -> None:
    with pytest.raises(BadCharacter) as info:
        list(tokens("hook a = t()\nhook b = $\n"))
    assert (info.value.line, info.value.column, info.value.char) == (2, 10, "$")
