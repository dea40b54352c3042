"""Stopping together without a blocking collective per step (``hookpipe.runtime.distributed.stop_agreement``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hookpipe.runtime.distributed import stop_agreement
from hookpipe.runtime.distributed.stop_agreement import (
    CHECK_SECONDS,
    DEFAULT_EVERY,
    MAX_EVERY,
    StopAgreement,
    check_interval,
)
from tests.helpers import launch_two
from tests.runtime.planbuild import entry, hook, plan, tiny_trainer


def test_one_process_stops_after_the_step_it_was_asked_in() -> None:
    agreement = StopAgreement(1, every=8)
    assert [agreement.poll(2 if step == 3 else 0, step) for step in range(1, 6)] == [0, 0, 2, 0, 0]
    assert agreement.now(1) == 1


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKPIPE_STOP_CHECK_EVERY", raising=False)
    assert check_interval() is None  # timed: the default
    monkeypatch.setenv("HOOKPIPE_STOP_CHECK_EVERY", "3")
    assert check_interval() == 3
    monkeypatch.setenv("HOOKPIPE_STOP_CHECK_EVERY", "0")
    assert check_interval() == 0  # blocking, after every step
    monkeypatch.setenv("HOOKPIPE_STOP_CHECK_EVERY", "often")
    with pytest.raises(ValueError, match=r"HOOKPIPE_STOP_CHECK_EVERY='often': give a number of steps \(0: check"):
        check_interval()


class Done:
    def wait(self) -> None:
        pass


def checks_of_two_ranks(monkeypatch: pytest.MonkeyPatch, seconds_per_step: tuple[float, float],
                        steps: int) -> list[list[int]]:
    """The steps at which each of two simulated ranks checks, with the reduction both see.

    The ranks run in lockstep (as they do, joined by DDP's all-reduce); each rank's
    clock advances by its own step time; the reduction is the element-wise max of
    what the two started at the same check.
    """
    clock = [0.0, 0.0]
    current = [0]
    started: dict[int, list[torch.Tensor]] = {}
    agreements = [StopAgreement(2), StopAgreement(2)]
    monkeypatch.setattr(stop_agreement.time, "monotonic", lambda: clock[current[0]])
    checks: list[list[int]] = [[], []]

    def start(self: StopAgreement, level: int, proposal: int) -> tuple[Done, torch.Tensor]:
        mine = torch.tensor([level, -proposal], dtype=torch.int64)
        both = started.setdefault(len(checks[current[0]]), [])
        both.append(mine)
        checks[current[0]].append(step)
        return Done(), mine

    monkeypatch.setattr(StopAgreement, "_start", start)
    for step in range(1, steps + 1):
        for rank in (0, 1):
            current[0] = rank
            clock[rank] += seconds_per_step[rank]
            # what a finished all-reduce holds: the max over both ranks' tensors of that check
            for tensors in started.values():
                if len(tensors) == 2:
                    agreed = torch.maximum(tensors[0], tensors[1])
                    for t in tensors:
                        t.copy_(agreed)
            agreements[rank].poll(0, step)
    return checks


def test_checks_are_spaced_by_time_and_both_ranks_take_the_slower_ranks_interval(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKPIPE_STOP_CHECK_EVERY", raising=False)
    # 1 ms steps on rank 0, 5 ms on rank 1: rank 1 proposes CHECK_SECONDS / 5 ms = 50 steps
    checks = checks_of_two_ranks(monkeypatch, (0.001, 0.005), 200)
    assert checks[0] == checks[1]  # the same steps on both ranks
    slow = int(CHECK_SECONDS / 0.005)
    assert checks[0] == [DEFAULT_EVERY, 2 * DEFAULT_EVERY] + list(range(2 * DEFAULT_EVERY + slow, 201, slow))
    assert checks[0][-1] == 166


def test_short_steps_are_checked_at_most_every_max_every_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKPIPE_STOP_CHECK_EVERY", raising=False)
    checks = checks_of_two_ranks(monkeypatch, (1e-7, 1e-7), 3 * MAX_EVERY)
    assert checks[0] == checks[1] == [8, 16, 16 + MAX_EVERY, 16 + 2 * MAX_EVERY]


def test_a_fixed_interval_from_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPIPE_STOP_CHECK_EVERY", "5")
    checks = checks_of_two_ranks(monkeypatch, (0.001, 0.005), 23)
    assert checks[0] == checks[1] == [5, 10, 15, 20]


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
    # Said once, by the main process, which learnt rank 1's reason (every rank stopped alike).
    said = [line for line in done.stderr.splitlines() if "asked on rank 1" in line]
    assert len(said) == 1 and said[0].startswith("[rank 0] hookpipe run: "), done.stderr
    assert sorted(x.name for x in (tmp_path / "ckpt").iterdir()) == ["step-00000006"]
