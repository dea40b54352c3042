"""Finding a suppression in a comment: the same answers as the pattern, in linear time.

A comment of ``hookpipe: ignore[`` repeated with no ``]`` after it made the pattern
rescan to the line's end from every repeat (about 2 s at the 100,000-character line
limit). As in ``test_lexer``'s hostile lines, eight times the length may cost at most
24 times the process time (linear: 8; quadratic: 64).
"""

from __future__ import annotations

import time

import pytest

from hookpipe.lint.suppress import SUPPRESSION, find_suppression, marked_codes

HOSTILE = {
    "no closing bracket": lambda n: "hookpipe:ignore[" * n,
    "closing bracket first": lambda n: "] " + "hookpipe: ignore[" * n,
}


@pytest.mark.parametrize(
    "text",
    [
        "hookpipe: ignore[HP101, HP103]",
        "note ] then hookpipe:ignore[HP102]",
        "hookpipe : ignore [ HP104 ] trailing ] brackets ]",
        "hookpipe: ignore[HP101",
        "no suppression here",
        "] hookpipe: ignore[",
        "hookpipe:ignore[hookpipe:ignore[HP105]",
    ],
)
def test_the_same_match_as_the_pattern(text: str) -> None:
    expected = SUPPRESSION.search(text)
    found = find_suppression(text)
    assert (found and found.span()) == (expected and expected.span())


def test_codes_of_a_suppression() -> None:
    assert marked_codes("hookpipe: ignore[hp101, HP103,]") == ("HP101", "HP103")
    assert marked_codes("hookpipe: ignore[HP101") is None


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        find_suppression(text)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("shape", list(HOSTILE))
def test_hostile_comments_cost_linear_time(shape: str) -> None:
    make = HOSTILE[shape]
    short, long = _seconds(make(500)), _seconds(make(4_000))
    assert long < 24 * max(short, 1e-6), (shape, short, long)
