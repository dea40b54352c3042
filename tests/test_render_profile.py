"""``hookpipe render --profile FILE.json``: nodes coloured by their hook's time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookpipe.cli import main as cli
from hookpipe.compiler.pipeline import compile_path
from hookpipe.profiling import EntryTime, Profile, ProfileError, read_profile
from hookpipe.render.heat import apply_profile, heat_colour
from hookpipe.render.model import from_compilation, iter_nodes
from tests.helpers import ROOT

DIGITS = ROOT / "examples" / "digits" / "train.pipe"


def _profile() -> Profile:
    rows = [("loop", "before", "evaluate", 1, 0.04), ("step", "after", "clip", 45, 0.03),
            ("step", "after", "optimize", 45, 0.9), ("step", "after", "evaluate", 0, 0.0),
            ("step", "after", "save", 0, 0.0), ("step", "after", "speed", 1, 0.001),
            ("epoch", "after", "evaluate", 1, 0.04), ("loop", "after", "save", 1, 0.03)]
    entries = [EntryTime(s, p, h, f"on_{s}_{'begin' if p == 'before' else 'end'}", "train.pipe", 1, c, t)
               for s, p, h, c, t in rows]
    return Profile("examples/digits/train.pipe", "0" * 64, 45, 1, 2.0, entries)


def test_nodes_get_their_time_and_the_slowest_the_hottest_colour() -> None:
    model = from_compilation(compile_path(str(DIGITS)))
    assert apply_profile(model, _profile()) == []
    nodes = {(n.hook, n.timing) for n in iter_nodes(model.root)}
    assert ("optimize", "900.00 ms (45.0%), 45x 20.00 ms") in nodes
    assert ("save", "not fired") in nodes
    heats = {n.hook: n.heat for n in iter_nodes(model.root) if n.timing != "not fired"}
    assert heats["optimize"] == 1.0 and 0 < heats["clip"] < heats["optimize"]
    assert heat_colour(1.0) != heat_colour(0.0)


def test_the_dot_output_fills_nodes_and_a_missing_hook_is_noted(tmp_path: Path) -> None:
    profile = _profile()
    profile.entries = [e for e in profile.entries if e.hook != "speed"]
    path = tmp_path / "p.json"
    path.write_text(profile.to_json(), encoding="utf-8")
    out = tmp_path / "g.dot"
    assert cli(["render", str(DIGITS), "--profile", str(path), "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert f'fillcolor="{heat_colour(1.0)}"' in dot and "900.00 ms (45.0%)" in dot and "not profiled" in dot
    mmd = tmp_path / "g.mmd"
    assert cli(["render", str(DIGITS), "--profile", str(path), "-o", str(mmd)]) == 0
    assert f"fill:{heat_colour(1.0)}" in mmd.read_text(encoding="utf-8")


@pytest.mark.parametrize("content, message", [
    ("not json", "not a JSON file"),
    ('{"tool": "other", "version": 1}', "not a hookpipe profile"),
    ('{"tool": "hookpipe", "version": 1, "source": "x"}', "malformed profile"),
])
def test_a_bad_profile_is_a_usage_error_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "g.svg"
    assert cli(["render", str(DIGITS), "--profile", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err and "Traceback" not in err
    assert not out.exists()
    with pytest.raises(ProfileError):
        read_profile(str(path))


def test_the_json_round_trips() -> None:
    profile = _profile()
    again = json.loads(profile.to_json())
    assert again["hooks"][0]["hook"] == "optimize"
    assert again["hooks_s"] == pytest.approx(sum(e.total_s for e in profile.entries))
