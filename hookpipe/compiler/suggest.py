"""'did you mean' suggestions (``difflib`` is imported by the first: a clean file asks none)."""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A help line naming the closest candidate, or None when nothing is close."""
    return _closest(name, tuple(sorted(set(candidates))))


@lru_cache(maxsize=4096)
def _closest(name: str, candidates: tuple[str, ...]) -> str | None:
    """Cached: a file repeating one mistake 20,000 times asks the same question 20,000 times."""
    import difflib

    # A name cut short (`evaluate.acc` for `evaluate.accuracy_top1`) is closer to its own
    # completion than to a same-length neighbour (`evaluate.loss`) difflib would rank first.
    completions = [c for c in candidates if c.startswith(name) and c != name] if len(name) >= 3 else []
    if len(completions) == 1:
        return f"did you mean `{completions[0]}`?"
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None
