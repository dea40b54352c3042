"""``early_stop``: a metric that stops improving ends the run cleanly, after loop.after, with exit 0."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from hookpipe.runtime.builtins.early_stop import EarlyStopHook
from hookpipe.runtime.checkpoints.resume import latest_checkpoint
from hookpipe.runtime.run import run_file
from tests.runtime import hooklib
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """pipeline "stop"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"

""" + tiny_trainer_text(n=10, max_epoch=10, seed=0, cpu=True, progress=False) + """
hook optimize = optimizer()
hook evaluate = validation(callback = t.constant)
hook stop     = early_stop(monitor = "evaluate.score", mode = "max", patience = 2)
hook save     = checkpoint(dir = "ckpt")
hook last     = h.Recorder(tag = "last")

loop {
    epoch {
        step {
            after { optimize }
        }
        after {
            evaluate
            stop
        }
    }
    after {
        save
        last
    }
}
"""


def test_a_flat_metric_stops_after_patience_evaluations_and_loop_after_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stop.pipe").write_text(PIPE)
    hooklib.LOG.clear()
    assert run_file("stop.pipe", [], None) == 0
    out = capsys.readouterr().out
    # Epoch 1 sets the best (1.0); epochs 2 and 3 do not beat it: stop after 3 epochs of 5 steps.
    assert "stop.pipe: 15 steps, 3 epochs" in out
    assert ("stopped early: early_stop: evaluate.score did not improve by more than 0 for 2 evaluations "
            "(best 1 after 5 steps)") in out
    assert latest_checkpoint(tmp_path / "ckpt") == tmp_path / "ckpt" / "step-00000015"  # loop.after's checkpoint
    assert [c for c in hooklib.LOG if c[0] == "last"] == [("last", "on_loop_end", 15, 3)]


EVERY_STEP = """pipeline "stop"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"

""" + tiny_trainer_text(n=10, max_epoch=10, seed=0, cpu=True, progress=False) + """
hook optimize = optimizer()
hook evaluate = validation(callback = t.constant)
hook stop     = early_stop(monitor = "evaluate.score", mode = "max", patience = 2)
hook save     = checkpoint(dir = "ckpt")

loop {
    epoch {
        step {
            after {
                optimize -> evaluate
                save every 2 steps
            }
        }
        after { stop }
    }
}
"""


def test_attached_less_often_than_its_validation_it_judges_every_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stop.pipe").write_text(EVERY_STEP)
    assert run_file("stop.pipe", [], None) == 0
    out = capsys.readouterr().out
    # Five results by the first epoch's end: the first is the best, the second and third do not beat it, so
    # the run stops there, naming the true best (judging only the newest at each firing it ran 3 epochs
    # and named step 5).
    reason = ("stopped early: early_stop: evaluate.score did not improve by more than 0 for 2 evaluations "
              "(best 1 after 1 steps)")
    assert "stop.pipe: 5 steps, 1 epoch" in out and reason in out
    # Resumed after 2 steps (two results recorded, none judged yet): the same results are judged at the epoch's end.
    assert run_file("stop.pipe", [], str(tmp_path / "ckpt" / "step-00000002")) == 0
    out = capsys.readouterr().out
    assert "stop.pipe: 5 steps, 1 epoch" in out and reason in out


class _Run:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def request_stop(self, reason: str) -> None:
        self.reasons.append(reason)


@pytest.mark.parametrize(
    "mode, values, min_delta, stops_after",
    [
        ("max", [0.5, 0.6, 0.6, 0.6], 0.0, 4),       # improves once, then two flat results
        ("max", [0.5, 0.55, 0.58, 0.59], 0.1, 3),    # improvements below min_delta do not count
        ("min", [3.0, 2.0, 1.0, 0.5], 0.0, None),    # keeps improving
        ("min", [1.0, 1.0, 0.5, 0.5, 0.5], 0.0, 5),  # an improvement resets the count
    ],
)
def test_patience_and_min_delta(mode: str, values: list[float], min_delta: float, stops_after: int | None) -> None:
    hook = EarlyStopHook("evaluate.m", mode=mode, patience=2, min_delta=min_delta)
    history: list = []
    hook.bind_trainer(SimpleNamespace(hook_instances={"evaluate": SimpleNamespace(history=history)}))
    run = _Run()
    args = SimpleNamespace(run=run)
    stopped = None
    for i, value in enumerate(values, 1):
        history.append((i, {"m": value}))
        hook.check(args)  # type: ignore[arg-type]
        hook.check(args)  # type: ignore[arg-type]  # a second firing without a new result counts nothing
        if run.reasons and stopped is None:
            stopped = i
    assert stopped == stops_after
    assert len(run.reasons) == (0 if stops_after is None else 1)


@pytest.mark.parametrize("values, stopped_at", [([0.5, 0.6, 0.6, 0.6, 0.7], 4), ([1.0, 2.0, 3.0], None)])
def test_results_recorded_between_firings_are_judged_in_order(values: list[float], stopped_at: int | None) -> None:
    hook = EarlyStopHook("evaluate.m", mode="max", patience=2)
    history = [(step, {"m": value}) for step, value in enumerate(values, 1)]
    hook.bind_trainer(SimpleNamespace(hook_instances={"evaluate": SimpleNamespace(history=history)}))
    run = _Run()
    hook.check(SimpleNamespace(run=run))  # type: ignore[arg-type]  # one firing, all the results
    if stopped_at is None:
        assert run.reasons == [] and hook.best == 3.0 and hook.best_step == 3
        return
    # 0.5, then 0.6 (the best, after 2 steps), then two flat results: stopped at the 4th; the 5th is not judged.
    assert run.reasons == ["early_stop: evaluate.m did not improve by more than 0 for 2 evaluations "
                           "(best 0.6 after 2 steps)"]
    assert hook.state_dict()["seen"] == stopped_at - 1


def test_a_missing_metric_names_the_ones_there_are() -> None:
    hook = EarlyStopHook("evaluate.acc", mode="max")
    hook.bind_trainer(SimpleNamespace(hook_instances={"evaluate": SimpleNamespace(history=[(5, {"loss": 1.0})])}))
    with pytest.raises(RuntimeError, match=r"monitor 'evaluate.acc': hook 'evaluate' returned no metric 'acc' \(its metrics: loss\)"):
        hook.check(SimpleNamespace(run=_Run()))  # type: ignore[arg-type]
