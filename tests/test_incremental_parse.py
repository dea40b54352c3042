"""ParseCache.parse gives exactly what parse_text gives, after any edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.dsl.incremental import ParseCache
from hookpipe.dsl.parser import parse_text
from tests.helpers import ROOT

REPO = ROOT
FILES = sorted([*REPO.glob("examples/**/*.pipe"), *REPO.glob("tests/fixtures/**/*.pipe")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_same_result_as_a_whole_parse(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert ParseCache().parse(text, "f.pipe") == parse_text(text, "f.pipe")


@pytest.mark.parametrize("name", ["examples/digits/train.pipe", "examples/finetune.pipe", "examples/all_scopes.pipe"])
def test_every_one_line_edit_matches_and_reuses_the_rest(name: str) -> None:
    cache = ParseCache()
    lines = (REPO / name).read_text(encoding="utf-8").split("\n")
    for i in range(len(lines)):
        for edited in (lines[:i] + lines[i + 1:],  # the line deleted: later items move up
                       lines[:i] + [lines[i] + " x"] + lines[i + 1:]):  # a word typed at its end
            text = "\n".join(edited)
            assert cache.parse(text, "f.pipe") == parse_text(text, "f.pipe"), (i, text)


def test_an_edit_reparses_only_its_item() -> None:
    text = (REPO / "examples/digits/train.pipe").read_text(encoding="utf-8")
    cache = ParseCache()
    cache.parse(text, "f.pipe")
    before = cache.misses
    cache.parse(text.replace("max_norm = 1.0", "max_norm = 2.0"), "f.pipe")
    assert cache.misses == before + 1
