"""Inline suppressions: ``# hookpipe: ignore[HP101, HP103]`` on the offending line.

Only warnings can be suppressed (an error means the plan cannot be built). A
suppression that suppresses nothing is itself reported (HP110, the rule
``hookpipe.lint.rules.hp110``), so stale ones do not pile up and hide the next
real finding on that line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hookpipe.dsl import ast
from hookpipe.dsl.span import Span

#: A suppression: a comment, or a ``#`` part of one (``# note  # hookpipe: ignore[HP101]``),
#: that starts with it; group 1 holds the comma-separated codes. As with ruff's noqa comments:
#: prose that only quotes the syntax (``# never write "hookpipe: ignore[HP103]"``)
#: suppresses nothing. The language server's quick fix finds an existing one with it.
SUPPRESSION = re.compile(r"#\s*hookpipe\s*:\s*ignore\s*\[([^\]#]*)\]", re.IGNORECASE)
#: ``# hookpipe: ignore`` with no codes. It suppresses nothing (ruff's bare noqa comment hides
#: every finding on its line, the next real one included), so HP110 says to name the codes.
BARE = re.compile(r"#\s*hookpipe\s*:\s*ignore\b(?!\s*\[)", re.IGNORECASE)


def find_suppression(text: str) -> re.Match[str] | None:
    """The first suppression in a comment's (or a line's) text, in time linear in its length.

    Codes never hold ``#`` or ``]``, so a hostile comment (``# hookpipe: ignore[``
    repeated, no ``]``) is scanned from each repeat only to the next ``#``.
    """
    return SUPPRESSION.search(text)


def suppression_comment(*codes: str) -> str:
    """The comment that suppresses ``codes`` on its line (what the quick fix writes).

    Example:
        >>> suppression_comment("HP101", "HP103")
        '# hookpipe: ignore[HP101, HP103]'
    """
    return f"# hookpipe: ignore[{', '.join(codes)}]"


@dataclass
class Suppression:
    """One comment's codes, and which of them were used."""

    span: Span
    codes: tuple[str, ...]
    used: set[str] = field(default_factory=set)
    #: ``# hookpipe: ignore`` without ``[CODES]``: it suppresses nothing (HP110 says so).
    bare: bool = False


def suppressions(file: ast.File) -> dict[int, Suppression]:
    """The suppressions of one file, by line."""
    found: dict[int, Suppression] = {}
    for comment in file.comments:
        matches = list(SUPPRESSION.finditer(comment.text))
        if not matches:
            if (bare := BARE.search(comment.text)) is not None:
                start = comment.span.column + bare.start() + bare.group(0).lower().index("h")
                found[comment.span.line] = Suppression(Span(comment.span.file, comment.span.line, start,
                                                            comment.span.line, comment.span.column + bare.end()),
                                                       (), bare=True)
            continue
        codes = tuple(dict.fromkeys(c for m in matches for c in _codes(m)))  # every part counts
        first = matches[0]  # the span starts at `hookpipe`, after the `#` and spaces, as it always has
        start = comment.span.column + first.start() + first.group(0).lower().index("h")
        end = comment.span.column + matches[-1].end()
        found[comment.span.line] = Suppression(Span(comment.span.file, comment.span.line, start,
                                                    comment.span.line, end), codes, bare=not codes)
    return found


def marked_codes(comment: str) -> tuple[str, ...] | None:
    """The codes a comment's text suppresses (None: it is not a suppression)."""
    matches = list(SUPPRESSION.finditer(comment))
    return tuple(dict.fromkeys(c for m in matches for c in _codes(m))) if matches else None


def _codes(m: re.Match[str]) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in m.group(1).split(",") if c.strip())

