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

#: A suppression inside a comment's text; group 1 holds the comma-separated codes. The
#: language server's quick fix finds an existing one with it, to add a code.
SUPPRESSION = re.compile(r"hookpipe\s*:\s*ignore\s*\[([^\]]*)\]")


def find_suppression(text: str) -> re.Match[str] | None:
    """The first suppression in a comment's text, in time linear in its length.

    Searching only up to the last ``]`` keeps a hostile comment (``hookpipe: ignore[``
    repeated, no ``]`` after it) from rescanning to the line's end from every repeat.
    """
    end = text.rfind("]")
    return None if end < 0 else SUPPRESSION.search(text, 0, end + 1)


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


def suppressions(file: ast.File) -> dict[int, Suppression]:
    """The suppressions of one file, by line."""
    found: dict[int, Suppression] = {}
    for comment in file.comments:
        m = find_suppression(comment.text)
        if m is None:
            continue
        codes = _codes(m)
        start = comment.span.column + m.start()
        span = Span(comment.span.file, comment.span.line, start, comment.span.line, comment.span.column + m.end())
        found[comment.span.line] = Suppression(span, codes)
    return found


def marked_codes(comment: str) -> tuple[str, ...] | None:
    """The codes a comment's text suppresses (None: it is not a suppression)."""
    m = find_suppression(comment)
    return None if m is None else _codes(m)


def _codes(m: re.Match[str]) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in m.group(1).split(",") if c.strip())

