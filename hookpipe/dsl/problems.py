"""What the lexer and parser raise for text that is not a pipeline.

These carry exactly what ``syntax_errors`` needs to write an HP001 diagnostic
(where, what was found, what would have been accepted, the parser's states for
the help table) and nothing of lark's, so the hot path owns its error type.
"""

from __future__ import annotations

from dataclasses import dataclass

from hookpipe.dsl.tokens import Tok


class SyntaxProblem(Exception):
    """Root of the lexer's and the parser's errors."""


@dataclass
class BadCharacter(SyntaxProblem):
    """A character no token starts with."""

    line: int
    column: int
    char: str


@dataclass
class NestingTooDeep(SyntaxProblem):
    """Brackets nested deeper than the lexer allows."""

    line: int
    column: int
    limit: int


@dataclass
class NumberOutOfRange(SyntaxProblem):
    """A number literal beyond what a pipeline can mean (and what Python parses cheaply)."""

    line: int
    column: int
    end_column: int
    text: str


@dataclass
class ParseError(SyntaxProblem):
    """A token the grammar does not accept where it stands (``token`` None: end of file)."""

    token: Tok | None
    accepts: frozenset[str]
    states: tuple[int, ...]

    @property
    def kind(self) -> str:
        return "$END" if self.token is None else self.token.type
