"""A fast lexer for the .pipe grammar, with the layout rules folded in.

lark's generic lexer spends most of its time per token on bookkeeping this
small language does not need; one compiled regex over the whole text is several
times faster. It emits exactly the terminals ``grammars/pipe.lark`` defines (a
test compares it with lark's own lexer), and applies the newline rules in the
same loop: newlines inside ``()``, ``[]`` and value tables, right after ``->``,
and repeated ones carry no meaning and are dropped. That keeps the grammar
LALR(1) without allowing newlines everywhere.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from lark import Token
from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer, LexerState

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


class NestingTooDeep(UnexpectedCharacters):
    """Brackets nested deeper than MAX_DEPTH (a syntax error with its own message)."""


class PipeLexer(Lexer):
    """lark custom lexer (interface 2): ``lex(lexer_state, parser_state)``."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        self.conf = lexer_conf

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        text = lexer_state.text.text
        return tokens(text, parser_state)


def tokens(text: str, parser_state: Any = None) -> Iterator[Token]:
    """The significant tokens of ``text``; raises UnexpectedCharacters on a stray character."""
    match = _TOKEN.match
    stack: list[str] = []  # what closes each open bracket; "BLOCK" for blocks
    previous = None
    line, line_start, pos, end = 1, 0, 0, len(text)
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise UnexpectedCharacters(text, pos, line, pos - line_start + 1, allowed=None, state=parser_state)
        kind: str = m.lastgroup  # type: ignore[assignment]  # every alternative is a named group
        value = m.group()
        start, pos = pos, m.end()
        if kind == "WS" or kind == "COMMENT":
            continue
        column = start - line_start + 1
        if kind == "NL":
            drop = previous in (None, "_NL", "_ARROW") or (stack and stack[-1] != "BLOCK")
            if not drop:
                yield Token("_NL", value, start, line, column, line + 1, 1, pos)
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
            if len(stack) > MAX_DEPTH:
                raise NestingTooDeep(text, start, line, column, allowed=None, state=parser_state)
            elif stack and kind in ("RPAR", "RSQB", "RBRACE"):
                top = stack[-1]
                if top == kind or (kind == "RBRACE" and top == "BLOCK"):
                    stack.pop()
        elif kind == "ARROW":
            kind = "_ARROW"
        previous = kind
        yield Token(kind, value, start, line, column, line, column + len(value), pos)
