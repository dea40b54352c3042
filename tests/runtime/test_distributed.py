"""Two CPU processes under ``accelerate launch``: `on main` runs once, the rest everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import launch_two
from tests.runtime.planbuild import entry, hook, plan, tiny_trainer


@pytest.mark.slow
def test_two_process_run_honours_on_main(tmp_path: Path) -> None:
    record = tmp_path / "calls"
    p = plan(
        tiny_trainer(n=16, max_step=3),
        [
            hook("optimize", "optimizer", {}, builtin=True),
            hook("everyone", "tests.runtime.hooklib:FileRecorder", {"path": str(record), "tag": "everyone"}),
            hook("chief", "tests.runtime.hooklib:FileRecorder", {"path": str(record), "tag": "chief"}),
            hook("save", "checkpoint", {"dir": str(tmp_path / "ckpt")}, builtin=True),
        ],
        [
            entry("optimize", "step", "after"),
            entry("everyone", "step", "after"),
            entry("chief", "step", "after", main=True),
            entry("save", "step", "after", unit="step", every=2, at_end=True),
        ],
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(p.to_json(), encoding="utf-8")
    done = launch_two("hookpipe.runtime.run", str(plan_file), "--set", "trainer.max_step=4", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rank0 = (tmp_path / "calls.0").read_text().split("\n")
    rank1 = (tmp_path / "calls.1").read_text().split("\n")
    assert [x for x in rank0 if x.startswith("everyone")] == [f"everyone {i}" for i in range(4)]
    assert [x for x in rank1 if x.startswith("everyone")] == [f"everyone {i}" for i in range(4)]
    assert [x for x in rank0 if x.startswith("chief")] == [f"chief {i}" for i in range(4)]
    assert not any(x.startswith("chief") for x in rank1)
    assert sorted(x.name for x in (tmp_path / "ckpt").iterdir()) == ["step-00000002", "step-00000004"]
    assert done.stdout.count("plan.json: 4 steps") == 1  # the summary comes from the main process only
