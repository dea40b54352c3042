"""``hookpipe run --profile``: every plan entry timed, the JSON valid, nothing wrapped when off."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import torch
from accelerate.state import AcceleratorState, GradientState

from hookpipe.profiling import read_profile
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.run import RunOptions, run_file
from hookpipe.runtime.tracking.profiler import Profiler
from tests.helpers import ROOT
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=8, max_step=6, seed=0) + """\
hook clip     = grad_clip(mode = "norm", max_norm = 1.0)
hook optimize = optimizer()
hook rec      = h.Recorder(tag = "r")
loop {
    before { rec }
    epoch { step { after {
        clip -> optimize
        rec every 4 steps
    } } }
}
"""

SCHEMA = json.loads((ROOT / "docs" / "profile.schema.json").read_text(encoding="utf-8"))


def _reset() -> None:
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


@pytest.fixture
def pipe(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "prof.pipe"
    path.write_text(PIPE)
    return path


def test_the_table_names_every_plan_entry_and_the_json_validates(pipe: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.json"
    assert run_file(str(pipe), [], None, options=RunOptions(profile=str(out))) == 0
    _reset()
    printed = capsys.readouterr().out
    data = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(SCHEMA).validate(data)
    rows = [(e["scope"], e["phase"], e["hook"], e["callback"], e["calls"]) for e in data["entries"]]
    assert rows == [
        ("loop", "before", "rec", "on_loop_begin", 1),
        ("step", "after", "clip", "on_step_end", 6),
        ("step", "after", "optimize", "on_step_end", 6),
        ("step", "after", "rec", "on_step_end", 1),  # every 4 steps, in 6 steps
    ]
    for scope, phase, hook, callback, _ in rows:
        assert f"{scope}.{phase}  {hook}.{callback}" in printed
    assert data["steps"] == 6 and data["wall_s"] > 0
    assert all(e["total_s"] > 0 and e["mean_us"] > 0 for e in data["entries"])
    assert 0 < data["hooks_s"] <= data["wall_s"]
    assert data["entries"][2]["share"] == pytest.approx(data["entries"][2]["total_s"] / data["wall_s"])
    assert [h["hook"] for h in data["hooks"]] == sorted(
        ("clip", "optimize", "rec"), key=lambda h: -sum(e["total_s"] for e in data["entries"] if e["hook"] == h))
    assert "training loop" in printed and f"profile written to {out}" in printed
    # The file reads back as the same numbers.
    back = read_profile(str(out))
    assert [(e.hook, e.calls, e.total_s) for e in back.entries] == [
        (e["hook"], e["calls"], e["total_s"]) for e in data["entries"]]


def test_an_entry_that_never_fires_still_has_its_row(pipe: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    assert run_file(str(pipe), ["trainer.max_step=3"], None, options=RunOptions(profile=str(out))) == 0
    _reset()
    data = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(SCHEMA).validate(data)
    gated = data["entries"][3]
    assert (gated["hook"], gated["calls"], gated["total_s"], gated["mean_us"]) == ("rec", 0, 0.0, None)


def test_off_nothing_is_wrapped_and_on_the_parameters_are_the_same(pipe: Path) -> None:
    from hookpipe.runtime.build import load_plan

    plan = load_plan(str(pipe))
    finals = {}
    for profiled in (False, True):
        trainer = HookBasedTrainer.from_plan(plan, profile=profiled)
        calls = trainer.hooks.hooks["on_step"].afters
        if profiled:
            assert isinstance(trainer.profiler, Profiler)
            assert all(hasattr(c.fn, "__wrapped__") for c in calls)
        else:
            # The compiled phase calls the hooks' own bound methods: no timing on the path.
            assert trainer.profiler is None
            assert [c.fn.__self__ for c in calls] == [trainer.hook_instances[n] for n in ("clip", "optimize", "rec")]
            assert not any(hasattr(c.fn, "__wrapped__") for c in calls)
        trainer()
        finals[profiled] = [p.detach().clone() for p in trainer.model.parameters()]
        _reset()
    assert all(torch.equal(a, b) for a, b in zip(finals[False], finals[True]))


def test_an_unwritable_profile_path_fails_with_a_message(pipe: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "missing-folder" / "p.json"
    assert run_file(str(pipe), [], None, options=RunOptions(profile=str(out))) == 1
    _reset()
    assert f"cannot write the profile to {out}" in capsys.readouterr().err
    assert not out.exists()
