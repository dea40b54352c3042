"""Stopping together without a blocking collective per step (``hookpipe.runtime.distributed.stop_agreement``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.runtime.distributed.stop_agreement import DEFAULT_EVERY, StopAgreement, check_interval
from tests.helpers import launch_two
from tests.runtime.planbuild import entry, hook, plan, tiny_trainer


def test_one_process_stops_after_the_step_it_was_asked_in() -> None:
    agreement = StopAgreement(1, every=8)
    assert [agreement.poll(2 if step == 3 else 0, step) for step in range(1, 6)] == [0, 0, 2, 0, 0]
    assert agreement.now(1) == 1


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKPIPE_STOP_CHECK_EVERY", raising=False)
    assert check_interval() == DEFAULT_EVERY
    monkeypatch.setenv("HOOKPIPE_STOP_CHECK_EVERY", "3")
    assert check_interval() == 3
    monkeypatch.setenv("HOOKPIPE_STOP_CHECK_EVERY", "0")
    assert check_interval() == 0  # blocking, after every step
    monkeypatch.setenv("HOOKPIPE_STOP_CHECK_EVERY", "often")
    with pytest.raises(ValueError, match=r"HOOKPIPE_STOP_CHECK_EVERY='often': give a number of steps \(0: check"):
        check_interval()


@pytest.mark.slow
def test_a_stop_asked_of_one_rank_stops_both_after_the_same_step_within_the_latency(tmp_path: Path) -> None:
    record = tmp_path / "calls"
    p = plan(
        tiny_trainer(n=64, max_step=30),
        [
            hook("optimize", "optimizer", {}, builtin=True),
            hook("stopper", "tests.runtime.hooklib:StopOnRank", {"rank": 1, "at": 2}),
            hook("everyone", "tests.runtime.hooklib:FileRecorder", {"path": str(record), "tag": "step"}),
            hook("save", "checkpoint", {"dir": str(tmp_path / "ckpt")}, builtin=True),
        ],
        [
            entry("optimize", "step", "after"),
            entry("stopper", "step", "after"),
            entry("everyone", "step", "after"),
            entry("save", "step", "after", unit="step", every=100),
        ],
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(p.to_json(), encoding="utf-8")
    done = launch_two("hookpipe.runtime.run", str(plan_file), env={"HOOKPIPE_STOP_CHECK_EVERY": "2"})
    assert done.returncode == 1, done.stdout + done.stderr
    # Asked during step 3 (global step 2); checks after steps 2, 4, 6...: sent after step 4, read after step 6.
    for rank in (0, 1):
        steps = (tmp_path / f"calls.{rank}").read_text().split()
        assert steps[1::2] == [str(i) for i in range(6)], rank
    for rank in (0, 1):  # rank 0 learnt rank 1's reason
        assert any(line.startswith(f"[rank {rank}] hookpipe run: ") and "asked on rank 1" in line
                   for line in done.stderr.splitlines()), done.stderr
    assert sorted(x.name for x in (tmp_path / "ckpt").iterdir()) == ["step-00000006"]
