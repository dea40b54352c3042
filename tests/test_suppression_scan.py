"""Finding a suppression in a comment: only where a ``#`` part of it starts with one, in linear time.

A comment of ``hookpipe: ignore[`` repeated with no ``]`` after it made the pattern
rescan to the line's end from every repeat (about 2 s at the 100,000-character line
limit). As in ``test_lexer``'s hostile lines, eight times the length may cost at most
24 times the process time (linear: 8; quadratic: 64).
"""

from __future__ import annotations

import json
import time

import pytest

from hookpipe.lint.suppress import find_suppression, marked_codes
from tests.helpers import run_cli

HOSTILE = {
    "no closing bracket": lambda n: "# hookpipe:ignore[" * n,
    "closing bracket first": lambda n: "] " + "#hookpipe: ignore[" * n,
}


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("# hookpipe: ignore[HP101, HP103]", ("HP101", "HP103")),
        ("# note ] then  # hookpipe:ignore[HP102]", ("HP102",)),
        ("#hookpipe : ignore [ HP104 ] trailing ] brackets ]", ("HP104",)),
        ("# hookpipe: ignore[HP101", None),
        ("# no suppression here", None),
        ("# hookpipe:ignore[# hookpipe:ignore[HP105]", ("HP105",)),
        # every part of the comment that starts with one counts, in order, each code once
        ("# hookpipe: ignore[HP101] # hookpipe: ignore[HP103, HP101]", ("HP101", "HP103")),
        # prose that quotes the syntax is no suppression (as with ruff's noqa comments)
        ('# do not write "hookpipe: ignore[HP103]" here', None),
        ("# see hookpipe: ignore[HP103]", None),
    ],
)
def test_codes_of_a_comment(text: str, codes: tuple[str, ...] | None) -> None:
    assert marked_codes(text) == codes
    found = find_suppression(text)
    assert (found is None) == (codes is None)
    if found is not None:
        assert found.group(0).startswith("#")


def test_codes_are_upper_cased_and_empty_ones_dropped() -> None:
    assert marked_codes("# hookpipe: ignore[hp101, HP103,]") == ("HP101", "HP103")


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


def test_a_suppression_in_capitals_suppresses_and_a_bare_one_is_hp110(tmp_path) -> None:
    """As ruff reads `# NOQA`: the comment's words in any case. A bare `# hookpipe: ignore` (ruff's bare
    `# noqa` hides every finding on its line) suppressed nothing without a word."""
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "a.pipe"
    path.write_text("trainer { max_step = 2 }\nhook o = optimizer()\nhook spare = log()  # hookpipe: ignore\n"
                    "hook other = log()  # HOOKPIPE: IGNORE[hp103]\nhook third = log()  # hookpipe: ignore[ ]\n"
                    "loop { epoch { step { after { o } } } }\n")
    result = run_cli("lint", "--format", "json", str(path))
    found = [(d["code"], d["line"], d["message"]) for d in json.loads(result.out)["diagnostics"]]
    assert found == [
        ("HP103", 3, "hook `spare` is declared but never attached, so it never runs"),
        ("HP110", 3, "unused suppression: `# hookpipe: ignore` without codes suppresses nothing"),
        ("HP103", 5, "hook `third` is declared but never attached, so it never runs"),
        ("HP110", 5, "unused suppression: `# hookpipe: ignore` without codes suppresses nothing"),
    ]
