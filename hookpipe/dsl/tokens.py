"""The token the lexer emits and everything after it reads."""

from __future__ import annotations

__all__ = ["Tok"]


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
