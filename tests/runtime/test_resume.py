"""Checkpoints: atomic step folders, keep_last, and bitwise-exact resumption."""

from __future__ import annotations

from pathlib import Path

import torch

from hookpipe.runtime import HookBasedTrainer, ResumeCheckpointConfig
from hookpipe.runtime.checkpoints.resume import MARKER, latest_checkpoint
from hookpipe.runtime.run import resolve_resume
from tests.runtime.planbuild import entry, hook, plan


def resume_plan(ckpt: Path, *, max_step: int = 10, keep_last: int | None = None, mark_every_batches: int = 0):
    """A run of 6-batch epochs saving every 4 steps; ``mark_every_batches``: a Recorder after the save, counting
    the epoch's batches."""
    trainer = {
        "model": {"$call": "tests.runtime.hooklib:tiny_model", "args": {"dropout": 0.2}},
        "dataloader": {"$call": "tests.runtime.hooklib:tiny_loader", "args": {"n": 12, "batch_size": 2, "shuffle": True}},
        "optimizer": {"$call": "torch.optim.AdamW", "args": {"lr": 0.01}},
        "lr_scheduler": {"$call": "torch.optim.lr_scheduler.StepLR", "args": {"step_size": 3, "gamma": 0.5}},
        "batch_processor": {"$call": "tests.runtime.hooklib:MSE", "args": {}},
        "max_step": max_step,
        "grad_accumulation": 2,
        "seed": 7,
        "cpu": True,
    }
    args = {"dir": str(ckpt)} | ({"keep_last": keep_last} if keep_last else {})
    mark = bool(mark_every_batches)
    return plan(
        trainer,
        [
            hook("clip", "grad_clip", {"mode": "norm", "max_norm": 0.5}, builtin=True),
            hook("optimize", "optimizer", {}, builtin=True),
            hook("save", "checkpoint", args, builtin=True),
            *([hook("mark", "tests.runtime.hooklib:Recorder", {"tag": "mark"})] if mark else []),
        ],
        [
            entry("clip", "step", "after"),
            entry("optimize", "step", "after"),
            entry("save", "step", "after", unit="step", every=4, at_end=True),
            *([entry("mark", "step", "after", unit="batch", every=mark_every_batches)] if mark else []),
        ],
    )


def params(trainer: HookBasedTrainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.accelerator.unwrap_model(trainer.model).parameters()]


def test_resumed_run_ends_bitwise_equal_to_the_uninterrupted_one(tmp_path: Path) -> None:
    full = HookBasedTrainer.from_plan(resume_plan(tmp_path / "a"))
    full()
    expected = params(full)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["step-00000004", "step-00000008", "step-00000010"]
    assert (tmp_path / "a" / "step-00000004" / MARKER).is_file()

    # Step 4 is mid-epoch (6 batches per epoch) and the loader shuffles.
    resumed = HookBasedTrainer.from_plan(
        resume_plan(tmp_path / "b"),
        resume_from=ResumeCheckpointConfig(resume_from=str(tmp_path / "a" / "step-00000004")),
    )
    state = resumed.trainer_progress_state
    assert (state.epoch_id, state.step_id, state.global_step_id, state.update_count) == (0, 4, 4, 2)
    resumed()
    got = params(resumed)
    assert all(torch.equal(a, b) for a, b in zip(expected, got))
    assert resumed.trainer_progress_state.global_step_id == 10
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["step-00000008", "step-00000010"]


def test_keep_last_and_resume_latest_pick_the_newest_complete_checkpoint(tmp_path: Path) -> None:
    p = resume_plan(tmp_path / "c", max_step=12, keep_last=2)
    HookBasedTrainer.from_plan(p)()
    names = sorted(x.name for x in (tmp_path / "c").iterdir())
    assert names == ["step-00000008", "step-00000012"]
    # An incomplete folder (no marker), like one left by a crash, is never picked.
    (tmp_path / "c" / "step-00000099").mkdir()
    assert latest_checkpoint(tmp_path / "c") == tmp_path / "c" / "step-00000012"
    assert resolve_resume(p, "latest") == str(tmp_path / "c" / "step-00000012")


def test_a_resumed_phase_counts_the_epochs_batches_where_the_checkpoint_left_them(tmp_path: Path) -> None:
    """The attachments after a mid-epoch checkpoint run on resume with the batch count it stored."""
    from tests.runtime import hooklib

    hooklib.LOG.clear()
    HookBasedTrainer.from_plan(resume_plan(tmp_path / "a", mark_every_batches=2))()
    full = [g for tag, _, g, _ in hooklib.LOG if tag == "mark"]
    assert full == [1, 3, 5, 7, 9]  # 6 batches an epoch: batches 2, 4, 6 of each
    hooklib.LOG.clear()
    resumed = HookBasedTrainer.from_plan(
        resume_plan(tmp_path / "b", mark_every_batches=2), resume_from=ResumeCheckpointConfig(resume_from=str(tmp_path / "a" / "step-00000004")))
    resumed()
    # The checkpoint ran at global id 3 (the epoch's batch 4), before `mark`: the resume runs it there first.
    assert [g for tag, _, g, _ in hooklib.LOG if tag == "mark"] == [3, 5, 7, 9]
    # A run that counted no batches (no such guard) wrote the checkpoint; the file resumed with now has one.
    HookBasedTrainer.from_plan(resume_plan(tmp_path / "c"))()
    hooklib.LOG.clear()
    changed = HookBasedTrainer.from_plan(
        resume_plan(tmp_path / "d", mark_every_batches=2),
        resume_from=ResumeCheckpointConfig(resume_from=str(tmp_path / "c" / "step-00000004")))
    changed()
    assert [g for tag, _, g, _ in hooklib.LOG if tag == "mark"] == [3, 5, 7, 9]
