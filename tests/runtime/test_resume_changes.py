"""Resuming a changed Plan from Python: the report, and a changed lr that takes effect."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hookpipe.runtime import HookBasedTrainer, ResumeCheckpointConfig
from hookpipe.runtime.checkpoints.checkpoint_state import validate_state
from hookpipe.runtime.checkpoints.resume_changes import NothingToResume, ResumeRefused, examine
from hookpipe.runtime.plan.overrides import apply_overrides
from tests.runtime.test_resume import resume_plan


def resume(plan, folder: Path) -> HookBasedTrainer:
    return HookBasedTrainer.from_plan(plan, resume_from=ResumeCheckpointConfig(resume_from=str(folder)))


def test_a_changed_lr_keeps_the_schedule_factor_and_is_reported(tmp_path: Path) -> None:
    HookBasedTrainer.from_plan(resume_plan(tmp_path / "a", max_step=8))()
    # StepLR(step_size=3, gamma=0.5) after 4 updates: lr = 0.01 * 0.5.
    changed = apply_overrides(resume_plan(tmp_path / "a", max_step=12), {"trainer.optimizer.lr": "0.1"})
    trainer = resume(changed, tmp_path / "a" / "step-00000008")
    report = trainer.resume_report
    assert report is not None
    assert report.changes == ["trainer.max_step: 8 -> 12", "trainer.optimizer.lr: 0.01 -> 0.1"]
    assert report.applied == ["the optimizer's lr is now 0.05 (the schedule from lr 0.1, at update 4)"]
    assert report.lrs == (pytest.approx(0.005), pytest.approx(0.05))
    assert report.run_changes() == ["run.updates: 4 -> 6 (4 done + 2 left under the current settings)",
                                    "run.steps: 8 -> 12 (8 done + 4 left under the current settings)"]
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    assert trainer.lr_scheduler.scheduler.base_lrs == [0.1]
    trainer()
    assert trainer.trainer_progress_state.global_step_id == 12


def test_a_checkpoint_names_itself_as_the_newest_so_a_resumed_summary_is_not_stale(tmp_path: Path) -> None:
    HookBasedTrainer.from_plan(resume_plan(tmp_path / "c", max_step=8))()
    state = json.loads((tmp_path / "c" / "step-00000008" / "hookpipe-state-0.json").read_text())
    assert state["hooks"]["save"]["last_path"] == str(tmp_path / "c" / "step-00000008")
    trainer = resume(resume_plan(tmp_path / "c", max_step=8), tmp_path / "c" / "step-00000008")
    assert trainer.hook_instances["save"].last_path == tmp_path / "c" / "step-00000008"


def test_a_refusal_raises_before_anything_is_built_and_carries_every_change(tmp_path: Path) -> None:
    HookBasedTrainer.from_plan(resume_plan(tmp_path / "b", max_step=8))()
    # An edited .pipe file (--set never names code): the same arguments, another optimizer.
    longer = resume_plan(tmp_path / "b", max_step=12)
    sgd = dataclasses.replace(longer, trainer={**longer.trainer, "optimizer": {"$call": "torch.optim.SGD",
                                                                               "args": {"lr": 0.01}}}, _hash="")
    with pytest.raises(ResumeRefused, match="trainer.optimizer changed from torch.optim.AdamW to torch.optim.SGD") as exc:
        resume(sgd, tmp_path / "b" / "step-00000008")
    assert exc.value.report is not None and "trainer.optimizer: \"torch.optim.AdamW\" -> \"torch.optim.SGD\"" \
        in exc.value.report.changes


def _checkpoint_at(folder: Path, scope: str, epoch_id: int, step_id: int, global_step_id: int) -> Path:
    """A checkpoint folder whose hookpipe record stands at this (next-step) position."""
    folder.mkdir(parents=True)
    progress = {"format": 1, "epoch_id": epoch_id, "step_id": step_id, "global_step_id": global_step_id,
                "update_count": global_step_id}
    cursor = {"scope": scope, "index": None, "ids": [epoch_id, step_id, global_step_id], "stop": False}
    state = {"progress": progress, "cursor": cursor, "counters": {}, "hooks": {}, "stopping": None}
    assert validate_state(state) is None  # a sound state: the limits are what is judged
    (folder / "hookpipe-state-0.json").write_text(json.dumps(state), encoding="utf-8")
    return folder


def _limited(tmp_path: Path, **limits: int):
    base = resume_plan(tmp_path / "unused")
    trainer = {k: v for k, v in base.trainer.items() if k != "max_step"} | limits
    return dataclasses.replace(base, trainer=trainer, _hash="")


@pytest.mark.parametrize(("scope", "position", "limits"), [
    ("step", (4, 16, 80), {"max_epoch": 1}),   # saved in the last step of epoch 4, resumed with 1 epoch
    ("step", (4, 16, 80), {"max_epoch": 4}),   # epoch 4 has begun: a run of 4 epochs never reaches it
    ("step", (4, 16, 80), {"max_step": 79}),
    ("epoch", (5, 0, 80), {"max_epoch": 4}),   # saved at the end of epoch 4
    ("loop", (5, 0, 80), {"max_epoch": 2}),    # a finished run of 5 epochs, resumed with 2
])
def test_a_checkpoint_past_lowered_limits_is_nothing_to_train_whatever_phase_wrote_it(
        tmp_path: Path, scope: str, position: tuple[int, int, int], limits: dict[str, int]) -> None:
    folder = _checkpoint_at(tmp_path / "ckpt", scope, *position)
    with pytest.raises(NothingToResume, match=rf"stands after 80 steps \(epoch {position[0]}\), past trainer\.") as exc:
        examine(_limited(tmp_path, **limits), folder)
    assert f"--set trainer.max_epoch={position[0] + 1}" in str(exc.value)
    assert f"--weights-from {folder}" in str(exc.value)


@pytest.mark.parametrize(("scope", "position", "limits"), [
    ("step", (4, 16, 80), {"max_epoch": 5}),   # the run ended in epoch 4: what it had left still runs
    ("step", (4, 16, 80), {"max_step": 80}),
    ("epoch", (5, 0, 80), {"max_epoch": 5}),
])
def test_a_checkpoint_at_the_limits_resumes_to_run_what_its_run_had_left(
        tmp_path: Path, scope: str, position: tuple[int, int, int], limits: dict[str, int]) -> None:
    folder = _checkpoint_at(tmp_path / "ckpt", scope, *position)
    report = examine(_limited(tmp_path, **limits), folder)
    assert report.position == (80, position[0])
