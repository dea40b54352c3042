"""``args.run.request_stop``: a hook ends the run cleanly; the rest of the after phases run."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig, latest_checkpoint
from hookpipe.runtime.run import run_file
from tests.helpers import launch_two
from tests.runtime import runlib
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
use s = "tests.runtime.runlib"
""" + tiny_trainer_text(n=8, max_epoch=5) + """\
hook optimize = optimizer()
hook stopper  = s.Stopper(STOPPER)
hook note     = s.Note(tag = "note")
hook last     = s.Note(tag = "last")
hook save     = checkpoint(dir = "DIR")
loop {
    epoch {
        step { after { optimize -> stopper -> note } }
        after {
            stopper
            note
            last every 10 epochs and at end
        }
    }
    after { note -> save }
}
"""


def pipe(tmp_path: Path, stopper: str) -> str:
    return PIPE.replace("STOPPER", stopper).replace("DIR", str(tmp_path / "ckpt"))


def build(tmp_path: Path, stopper: str) -> HookBasedTrainer:
    return HookBasedTrainer.from_plan(compile_text(pipe(tmp_path, stopper), "stop.pipe"))


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    runlib.CALLS.clear()


def test_a_stop_asked_in_a_step_ends_the_run_after_the_epoch_and_loop_after_phases(tmp_path: Path) -> None:
    trainer = build(tmp_path, "step = 5")  # 4 steps per epoch: global step 5 is epoch 1's second
    trainer()
    assert trainer.run.stop_reason == "asked at step 5"
    assert trainer.trainer_progress_state.global_step_id == 6
    steps = [c[2] for c in runlib.CALLS if c[:2] == ("note", "on_step_end")]
    assert steps == [0, 1, 2, 3, 4, 5]  # the asking step's own after phase finished
    assert [c for c in runlib.CALLS if c[1] != "on_step_end"] == [
        ("note", "on_epoch_end", 4, 0),
        ("note", "on_epoch_end", 6, 1),  # the interrupted epoch's after phase ran
        ("last", "on_epoch_end", 6, 1),  # ... with `at end` firing: this is the run's last epoch
        ("note", "on_loop_end", 6, 2),
    ]
    assert latest_checkpoint(tmp_path / "ckpt") == tmp_path / "ckpt" / "step-00000006"


def test_a_stop_asked_in_an_epoch_phase_runs_no_further_epoch(tmp_path: Path) -> None:
    trainer = build(tmp_path, "epoch = 0")
    trainer()
    assert trainer.run.stop_reason == "asked after epoch 0"
    assert trainer.trainer_progress_state.global_step_id == 4
    assert [c for c in runlib.CALLS if c[1] != "on_step_end"] == [
        ("note", "on_epoch_end", 4, 0),
        ("note", "on_loop_end", 4, 1),
    ]


def test_hookpipe_run_exits_0_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stop.pipe"
    path.write_text(pipe(tmp_path, "step = 5"), encoding="utf-8")
    assert run_file(str(path), [], None) == 0
    out = capsys.readouterr().out
    assert "stop.pipe: 6 steps, 2 epochs" in out
    assert out.rstrip().endswith("stopped early: asked at step 5")


def test_a_resumed_stopped_run_stops_where_the_original_did(tmp_path: Path) -> None:
    # The checkpoint is written in the epoch phase, after the request: it remembers it.
    text = pipe(tmp_path, "step = 1").replace("            note\n            last", "            note\n            save\n            last")
    text = text.replace("after { note -> save }", "after { note }")
    HookBasedTrainer.from_plan(compile_text(text, "stop.pipe"))()
    first = list(runlib.CALLS)
    runlib.CALLS.clear()
    folder = tmp_path / "ckpt" / "step-00000002"
    resumed = HookBasedTrainer.from_plan(compile_text(text, "stop.pipe"), resume_from=ResumeCheckpointConfig(resume_from=str(folder)))
    assert resumed.run.stop_reason == "asked at step 1"
    resumed()
    assert resumed.trainer_progress_state.global_step_id == 2
    # Exactly what the first run did after its checkpoint: the rest of the epoch phase, then the loop's.
    assert runlib.CALLS == [("last", "on_epoch_end", 2, 0), ("note", "on_loop_end", 2, 1)]
    assert first[-2:] == runlib.CALLS


def test_request_stop_keeps_the_first_reason() -> None:
    from hookpipe.runtime.run_context import RunContext

    run = RunContext()
    assert not run.stopping
    run.request_stop("first")
    run.request_stop("second")
    assert run.stop_reason == "first" and run.stopping


@pytest.mark.slow
def test_a_stop_asked_on_one_rank_stops_both_at_the_same_step(tmp_path: Path) -> None:
    record = tmp_path / "calls"
    text = pipe(tmp_path, "step = 2, rank = 1").replace('s.Note(tag = "note")', f's.Note(tag = "note", path = "{record}")')
    path = tmp_path / "stop.pipe"
    path.write_text(text, encoding="utf-8")
    # A blocking agreement after every step (HOOKPIPE_STOP_CHECK_EVERY=0) stops at the
    # asking step itself; the default's latency is tested in test_stop_agreement.py.
    done = launch_two("hookpipe.runtime.run", str(path), env={"HOOKPIPE_STOP_CHECK_EVERY": "0"})
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in (0, 1):
        lines = (tmp_path / f"calls.{rank}").read_text().splitlines()
        # 8 samples on 2 ranks: 2 steps per epoch; the stop after global step 2 ends epoch 1 early.
        assert lines == ["note on_step_end 0 0", "note on_step_end 1 0", "note on_epoch_end 2 0",
                         "note on_step_end 2 1", "note on_epoch_end 3 1", "note on_loop_end 3 2"]
    assert done.stdout.count("stopped early: asked at step 2") == 1  # rank 0 learnt rank 1's reason
