"""Inline suppressions: ``# hookpipe: ignore[HP101, HP103]`` on the offending line.

Only warnings can be suppressed (an error means the plan cannot be built). A
suppression that suppresses nothing is itself reported (HP110), so stale ones do
not pile up and hide the next real finding on that line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl import ast
from hookpipe.dsl.span import Span
from hookpipe.lint.codes import BY_CODE

_PATTERN = re.compile(r"hookpipe\s*:\s*ignore\s*\[([^\]]*)\]")


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
        m = _PATTERN.search(comment.text)
        if m is None:
            continue
        codes = _codes(m)
        start = comment.span.column + m.start()
        span = Span(comment.span.file, comment.span.line, start, comment.span.line, comment.span.column + m.end())
        found[comment.span.line] = Suppression(span, codes)
    return found


def marked_codes(comment: str) -> tuple[str, ...] | None:
    """The codes a comment's text suppresses (None: it is not a suppression)."""
    m = _PATTERN.search(comment)
    return None if m is None else _codes(m)


def _codes(m: re.Match[str]) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in m.group(1).split(",") if c.strip())


def unused(suppression: Suppression, enabled: frozenset[str]) -> list[Diagnostic]:
    """HP110 for each code of ``suppression`` that suppressed nothing (deselected codes excepted)."""
    out: list[Diagnostic] = []
    for code in suppression.codes:
        if code in suppression.used:
            continue
        info = BY_CODE.get(code)
        if info is None:
            reason = f"`{code}` is not a hookpipe code"
        elif info.severity == "error":
            reason = f"{code} is an error, and errors cannot be suppressed"
        elif code not in enabled:
            continue
        else:
            reason = f"there is no {code} on this line"
        out.append(Diagnostic("HP110", "warning", f"unused suppression: {reason}", suppression.span,
                              help="remove the code from the comment (or the whole comment)"))
    return out
