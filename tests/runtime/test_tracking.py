"""Trackers: ``log()`` read back with TensorBoard's own event reader and as CSV, one row per firing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from hookpipe.compiler import compile_text
from hookpipe.errors import CompileError
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.errors import PlanResolveError
from tests.runtime import trackinglib
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """pipeline "track"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"

""" + tiny_trainer_text(
    n=10, max_step=12, seed=0, cpu=True, lr_scheduler='"torch.optim.lr_scheduler.StepLR"(step_size = 4, gamma = 0.5)',
    log_with="TRACKERS", log_dir='"LOGDIR"', progress=False) + """
hook optimize = optimizer()
hook evaluate = validation(callback = h.held_out_error)
hook losses   = t.LossRecorder()
hook record   = log()

loop {
    epoch {
        step {
            after {
                optimize
                losses
                record every 4 steps
            }
        }
        after {
            evaluate
            record
        }
    }
}
"""

# 5 steps per epoch, 12 steps: `record` fires in step.after after 4, 8, 12 completed
# steps and in epoch.after after 5, 10, 12 (the last, partial epoch).
FIRINGS = [4, 5, 8, 10, 12, 12]
#: Steps (1-based) whose losses each firing averages; the second firing at 12 has none left.
WINDOWS = [(1, 4), (5, 5), (6, 8), (9, 10), (11, 12), None]
EVALUATED = [5, 10, 12]


def train(tmp_path: Path, trackers: str = '["tensorboard", "csv"]') -> HookBasedTrainer:
    logdir = tmp_path / "logs" / "run1"
    plan = compile_text(PIPE.replace("TRACKERS", trackers).replace("LOGDIR", str(logdir)), "track.pipe")
    trackinglib.LOSSES.clear()
    trainer = HookBasedTrainer.from_plan(plan)
    trainer()
    return trainer


def test_csv_has_one_row_per_firing_with_the_documented_values(tmp_path: Path) -> None:
    train(tmp_path)
    with (tmp_path / "logs" / "run1" / "metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == FIRINGS
    losses = trackinglib.LOSSES
    assert len(losses) == 12
    for row, window in zip(rows, WINDOWS):
        if window is None:
            assert row["loss"] == ""
        else:
            first, last = window
            expected = sum(losses[first - 1:last]) / (last - first + 1)
            assert float(row["loss"]) == pytest.approx(expected, rel=1e-6)
    # StepLR(step_size=4, gamma=0.5) steps once per update: lr after N updates is 0.01 * 0.5 ** (N // 4).
    assert [float(r["lr/0"]) for r in rows] == pytest.approx([0.01 * 0.5 ** (s // 4) for s in FIRINGS])
    assert [r["epoch"] for r in rows] == ["0", "0", "1", "1", "2", "2"]  # integers, as the ids
    evaluated = [int(r["step"]) for r in rows if r["evaluate/mse"] != ""]
    assert evaluated == EVALUATED
    assert all(float(r["steps_per_s"]) > 0 for r in rows[:-1])


def test_a_second_firing_at_the_same_step_with_nothing_new_writes_no_row(tmp_path: Path) -> None:
    """Without `evaluate` in epoch.after, its `record` at step 12 repeats step.after's: no loss, no metric."""
    logdir = tmp_path / "logs"
    text = PIPE.replace("TRACKERS", '["csv"]').replace("LOGDIR", str(logdir)).replace(
        "            evaluate\n            record", "            record")
    HookBasedTrainer.from_plan(compile_text(text, "track.pipe"))()
    with (logdir / "metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [4, 5, 8, 10, 12]  # the epoch ends at 5 and 10 still record
    assert all(r["loss"] != "" for r in rows)


def test_tensorboard_events_read_back_with_tensorboards_reader(tmp_path: Path) -> None:
    trainer = train(tmp_path)
    acc = EventAccumulator(str(tmp_path / "logs" / "run1"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"loss", "lr/0", "epoch", "steps_per_s", "evaluate/mse"} <= tags
    assert [e.step for e in acc.Scalars("loss")] == [s for s, w in zip(FIRINGS, WINDOWS) if w is not None]
    assert [e.step for e in acc.Scalars("lr/0")] == FIRINGS
    mse = acc.Scalars("evaluate/mse")
    assert [e.step for e in mse] == EVALUATED
    history = trainer.hook_instances["evaluate"].history
    assert [done for done, _ in history] == EVALUATED
    assert [e.value for e in mse] == pytest.approx([m["mse"] for _, m in history], rel=1e-6)


def test_without_log_with_nothing_is_written(tmp_path: Path) -> None:
    train(tmp_path, "[]")
    assert not (tmp_path / "logs").exists()


def test_a_tracker_whose_package_is_missing_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(PlanResolveError, match=r"'tensorboard' tracker needs the 'tensorboard' package.*pip install tensorboard"):
        train(tmp_path)


def test_check_resolve_reports_a_missing_tracker_package_at_log_with(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `run` refuses before training, `check --resolve` reports at the setting's line."""
    import importlib.util

    from hookpipe.compiler.pipeline import load_text, run_passes
    from hookpipe.runtime.plan.verify import resolve_diagnostics

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    text = PIPE.replace("TRACKERS", '["tensorboard", "csv", "tensorboard"]').replace("LOGDIR", "logs")
    ctx = run_passes(load_text(text, "track.pipe"), "track.pipe")
    found = [d for d in resolve_diagnostics(ctx) if "log_with" in d.message]
    assert len(found) == 1  # once, though named twice
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "log_with" in s)
    assert (found[0].code, found[0].span.line) == ("HP003", line)
    assert "'tensorboard' tracker needs the 'tensorboard' package" in found[0].message


def test_an_unknown_tracker_is_hp003_at_its_line() -> None:
    text = PIPE.replace("TRACKERS", '["tensorbord"]').replace("LOGDIR", "x")
    with pytest.raises(CompileError) as err:
        compile_text(text, "track.pipe")
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.span.line) == ("HP003", 14)
    assert "log_with" in diag.message and "tensorboard" in diag.message


def test_a_resumed_run_rewrites_the_csv_rows_after_its_checkpoint(tmp_path: Path) -> None:
    from hookpipe.runtime import ResumeCheckpointConfig

    logdir = tmp_path / "logs" / "run1"
    text = PIPE.replace("TRACKERS", '["csv"]').replace("LOGDIR", str(logdir))
    text = text.replace("hook record   = log()", f'hook record   = log()\nhook save     = checkpoint(dir = "{tmp_path / "ckpt"}")')
    text = text.replace("            evaluate\n            record\n", "            evaluate\n            save\n            record\n")
    plan = compile_text(text, "track.pipe")
    HookBasedTrainer.from_plan(plan)()
    path = logdir / "metrics.csv"
    complete = path.read_text()
    baseline = list(csv.DictReader(complete.splitlines()))
    # Checkpoints after 10 steps (epoch 2) and 12 (the last epoch) were written before that
    # epoch's `record`; at 12 the step's `record` had already written its row, which stays.
    for checkpoint in ("step-00000010", "step-00000012"):
        HookBasedTrainer.from_plan(plan, resume_from=ResumeCheckpointConfig(resume_from=str(tmp_path / "ckpt" / checkpoint)))()
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["step"] for r in rows] == [r["step"] for r in baseline] == [str(s) for s in FIRINGS]
        assert [r["loss"] for r in rows] == [r["loss"] for r in baseline]
        assert [r["evaluate/mse"] for r in rows] == [r["evaluate/mse"] for r in baseline]
    # A new (not resumed) run into the same folder starts the file again.
    HookBasedTrainer.from_plan(plan)()
    with path.open(newline="") as fh:
        assert [r["step"] for r in csv.DictReader(fh)] == [str(s) for s in FIRINGS]


TWO = """pipeline "two"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"

trainer {
    max_step        = 6
    seed            = 0
    model           = h.tiny_model()
    dataloader      = h.tiny_loader(n = 24, batch_size = 2, shuffle = true)
    optimizer       = "torch.optim.SGD"(lr = 0.01)
    batch_processor = t.rank_local_mse()
    log_with        = ["csv"]
    log_dir         = "logs"
}

hook optimize = optimizer()
hook losses   = t.LossFile(path = "losses")
hook record   = log()

loop {
    epoch {
        step {
            after {
                optimize
                losses
                record every 3 steps
            }
        }
    }
}
"""


@pytest.mark.slow
def test_with_two_processes_the_loss_is_the_mean_over_both(tmp_path: Path) -> None:
    from tests.helpers import launch_two

    (tmp_path / "two.pipe").write_text(TWO)
    done = launch_two("hookpipe.runtime.run", "two.pipe", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    per_rank = [[float(x) for x in (tmp_path / f"losses.{r}").read_text().split()] for r in (0, 1)]
    assert len(per_rank[0]) == len(per_rank[1]) == 6 and per_rank[0] != per_rank[1]
    with (tmp_path / "logs" / "metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [3, 6]
    for row, (a, b) in zip(rows, ((0, 3), (3, 6))):
        expected = (sum(per_rank[0][a:b]) + sum(per_rank[1][a:b])) / (2 * (b - a))
        assert float(row["loss"]) == pytest.approx(expected, rel=1e-12)


def test_the_csv_tracker_appends_a_row_and_rewrites_only_for_a_new_column(tmp_path: Path) -> None:
    from hookpipe.runtime.tracking.trackers import CSVTracker

    tracker = CSVTracker("run", tmp_path)
    tracker.start()
    path = tmp_path / "run" / "metrics.csv"
    tracker.log({"loss": 1.5}, step=1)
    first = path.stat().st_ino
    tracker.log({"loss": 1.25}, step=2)
    tracker.log({"loss": 1.0}, step=3)
    assert path.stat().st_ino == first  # appended in place: the file was not replaced
    assert path.read_text(encoding="utf-8") == "step,loss\n1,1.5\n2,1.25\n3,1.0\n"
    tracker.log({"loss": 0.5, "lr": 0.1}, step=4)  # a new column: the header changes, the file is rewritten
    assert path.stat().st_ino != first
    assert path.read_text(encoding="utf-8") == "step,loss,lr\n1,1.5,\n2,1.25,\n3,1.0,\n4,0.5,0.1\n"
    tracker.log({"lr": 0.05}, step=5)
    assert path.read_text(encoding="utf-8").endswith("4,0.5,0.1\n5,,0.05\n")
    assert not list(path.parent.glob(".*"))  # no temporary file left

    resumed = CSVTracker("run", tmp_path)  # a resumed run keeps the rows its checkpoint saw
    resumed.start()
    resumed.resume_at(2)
    resumed.log({"loss": 1.0, "lr": 0.1}, step=3)
    resumed.log({"loss": 0.75, "lr": 0.1}, step=4)
    assert path.read_text(encoding="utf-8") == "step,loss,lr\n1,1.5,\n2,1.25,\n3,1.0,0.1\n4,0.75,0.1\n"
