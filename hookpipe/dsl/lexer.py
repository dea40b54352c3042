"""A fast lexer for the .pipe grammar, with the layout rules folded in.

One compiled regex over the whole text, and plain slotted tokens, cost a fraction
of a generic lexer's per-token bookkeeping. It emits exactly the terminals
``grammars/pipe.lark`` defines (a test compares it with lark's own lexer), and
applies the newline rules in the same loop: newlines inside ``()``, ``[]`` and
value tables, right after ``->``, and repeated ones carry no meaning and are
dropped. That keeps the grammar LALR(1) without allowing newlines everywhere.
"""

from __future__ import annotations

import re
from typing import Iterator

from hookpipe.dsl.problems import BadCharacter, NestingTooDeep

_TOKEN = re.compile(
    r"""
     (?P<WS>[ \t\f\r]+)
    |(?P<COMMENT>\#[^\n]*)
    |(?P<NL>\n+)
    |(?P<STRING>"(?:[^"\\\n]|\\.)*")
    |(?P<FLOAT>-?(?:\d[\d_]*\.\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*[eE][+-]?\d+))
    |(?P<INT>-?\d[\d_]*)
    |(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<ARROW>->)
    |(?P<PUNCT>[{}()\[\],=.])
    """,
    re.VERBOSE,
)

KEYWORDS: dict[str, str] = {
    word: word.upper()
    for word in (
        "pipeline use include trainer hook order require before after every from and at end on "
        "true false none reads writes consumes"
    ).split()
}
_PUNCT = {"{": "LBRACE", "}": "RBRACE", "(": "LPAR", ")": "RPAR", "[": "LSQB", "]": "RSQB",
          ",": "COMMA", "=": "EQUAL", ".": "DOT"}
_CLOSE = {"LPAR": "RPAR", "LSQB": "RSQB"}
#: A ``{`` after one of these opens a value table, not a block.
_VALUE_CONTEXT = frozenset({"EQUAL", "COMMA", "LPAR", "LSQB"})
#: Deeper nesting is refused: no real pipeline comes close, and later passes recurse.
MAX_DEPTH = 100


class Tok:
    """One token: its terminal name, text and 1-based position (tokens never span lines)."""

    __slots__ = ("type", "value", "line", "column", "end_column")

    def __init__(self, type: str, value: str, line: int, column: int, end_column: int) -> None:
        self.type = type
        self.value = value
        self.line = line
        self.column = column
        self.end_column = end_column

    def __repr__(self) -> str:
        return f"Tok({self.type}, {self.value!r}, {self.line}:{self.column})"


def tokens(text: str) -> Iterator[Tok]:
    """The significant tokens of ``text``; raises BadCharacter or NestingTooDeep."""
    match = _TOKEN.match
    stack: list[str] = []  # what closes each open bracket; "BLOCK" for blocks
    previous = None
    line, line_start, pos, end = 1, 0, 0, len(text)
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise BadCharacter(line, pos - line_start + 1, text[pos])
        kind: str = m.lastgroup  # type: ignore[assignment]  # every alternative is a named group
        value = m.group()
        start, pos = pos, m.end()
        if kind == "WS" or kind == "COMMENT":
            continue
        column = start - line_start + 1
        if kind == "NL":
            drop = previous in (None, "_NL", "_ARROW") or (stack and stack[-1] != "BLOCK")
            if not drop:
                yield Tok("_NL", value, line, column, column + 1)
                previous = "_NL"
            line += len(value)
            line_start = pos
            continue
        if kind == "NAME":
            kind = KEYWORDS.get(value, "NAME")
        elif kind == "PUNCT":
            kind = _PUNCT[value]
            if kind in _CLOSE:
                stack.append(_CLOSE[kind])
            elif kind == "LBRACE":
                stack.append("RBRACE" if previous in _VALUE_CONTEXT else "BLOCK")
            elif stack and kind in ("RPAR", "RSQB", "RBRACE"):
                top = stack[-1]
                if top == kind or (kind == "RBRACE" and top == "BLOCK"):
                    stack.pop()
            if len(stack) > MAX_DEPTH:
                raise NestingTooDeep(line, column, MAX_DEPTH)
        elif kind == "ARROW":
            kind = "_ARROW"
        previous = kind
        yield Tok(kind, value, line, column, column + len(value))
