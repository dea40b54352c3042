"""Resuming a changed Plan from Python: the report, and a changed lr that takes effect."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hookpipe.runtime import HookBasedTrainer, ResumeCheckpointConfig
from hookpipe.runtime.checkpoints.resume_changes import ResumeRefused
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
