"""Newline handling between the lexer and the parser.

Newlines separate items in blocks, but inside argument lists, lists and value
tables they are only layout, and a ``->`` chain may continue on the next line.
A grammar that allowed newlines everywhere would not be LALR(1); this post-lexer
drops the ones that carry no meaning instead.
"""

from __future__ import annotations

from typing import Iterator

from lark import Token

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB"}
#: A ``{`` after one of these opens a value table, not a block.
_VALUE_CONTEXT = {"EQUAL", "COMMA", "LPAR", "LSQB"}


class Layout:
    """A lark post-lexer; keeps a stack of open brackets."""

    always_accept: tuple[str, ...] = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        stack: list[str] = []  # closing token types; "RBRACE_BLOCK" for blocks
        previous: str | None = None
        for token in stream:
            kind = token.type
            if kind == "_NL":
                if previous in (None, "_NL", "_ARROW") or (stack and stack[-1] != "RBRACE_BLOCK"):
                    continue
            elif kind in _OPEN:
                stack.append(_OPEN[kind])
            elif kind == "LBRACE":
                stack.append("RBRACE" if previous in _VALUE_CONTEXT else "RBRACE_BLOCK")
            elif stack and kind in ("RPAR", "RSQB", "RBRACE"):
                if stack[-1] == kind or (kind == "RBRACE" and stack[-1] == "RBRACE_BLOCK"):
                    stack.pop()
            previous = kind
            yield token
