"""The tokens the lexer emits and everything after it reads."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Tok", "Token"]

#: A token as the parser reads it: (terminal, text, line, column, end column), 1-based,
#: end exclusive (tokens never span lines). A plain tuple: a big file has half a
#: million tokens, and a tuple display is the cheapest object Python builds.
Token = tuple[str, str, int, int, int]


class Tok(NamedTuple):
    """One :data:`Token` with its fields named, for readers outside the hot loop (errors, lint)."""

    type: str
    value: str
    line: int
    column: int
    end_column: int

    def __repr__(self) -> str:
        return f"Tok({self.type}, {self.value!r}, {self.line}:{self.column})"
