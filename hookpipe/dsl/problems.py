"""What the parser raises for text that is not a pipeline.

lark reports a token the grammar does not accept (``UnexpectedToken``) and a
character no terminal matches (``UnexpectedCharacters``); ``grammar.parse`` turns
them into the classes below, read through their documented attributes, so the rest
of hookpipe handles one family of errors. The layout rules and the AST builder
add their own (brackets nested too deep, numbers out of range). Each carries
exactly what ``syntax_errors`` needs to write an HP001 diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable

from lark import Token, UnexpectedToken


class SyntaxProblem(Exception):
    """Root of the parser's errors."""


@dataclass
class BadCharacter(SyntaxProblem):
    """A character no token starts with (a ``"`` here: a string never closed on its line)."""

    line: int
    column: int
    char: str


@dataclass
class NestingTooDeep(SyntaxProblem):
    """Brackets nested deeper than the layout rules allow."""

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


class ParseError(SyntaxProblem):
    """A token the grammar does not accept where it stands: lark's ``UnexpectedToken``."""

    def __init__(self, error: UnexpectedToken) -> None:
        super().__init__(str(error))
        self.error = error

    @property
    def token(self) -> Token | None:
        """The token that did not fit; None at the end of the file."""
        token: Token = self.error.token
        return None if token.type == "$END" else token

    @property
    def kind(self) -> str:
        """The terminal that did not fit (``$END``: the end of the file)."""
        return str(self.error.token.type)

    @property
    def accepts(self) -> frozenset[str]:
        """The terminals the parser would have taken there (after the reductions they trigger)."""
        return frozenset(self.error.accepts or self.error.expected)

    @property
    def context(self) -> Hashable:
        """Where the parser stood, as a key: equal for two errors in the same parser state.

        What lark's ``UnexpectedInput.match_examples`` compares, read so that it can
        be a dict key: the state's actions (``InteractiveParser.choices``) and the
        terminals it would accept after the reductions they trigger (``accepts``,
        which tells apart states the LALR tables merge: a value ends an argument
        or a setting). However deep the nesting around the mistake, so a help
        line found for a short example matches the same mistake nested deeper.
        """
        interactive = self.error.interactive_parser
        actions = frozenset(interactive.choices().items()) if interactive is not None else frozenset()  # type: ignore[no-untyped-call]
        return actions, self.accepts
