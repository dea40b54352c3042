"""``nan_guard``: bad steps leave the weights alone; too many in a row stop with a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.errors import RunInterrupted
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=16, max_step=8, batch_processor="h.NanAt(steps = STEPS)") + """\
hook guard    = nan_guard(max_consecutive = 3)
hook optimize = optimizer()
hook save     = checkpoint(dir = "DIR")
loop { epoch { step { after {
    guard -> optimize
} } } }
"""


def build(tmp_path: Path, steps: list[int]) -> HookBasedTrainer:
    text = PIPE.replace("STEPS", str(steps)).replace("DIR", str(tmp_path / "ckpt"))
    return HookBasedTrainer.from_plan(compile_text(text, "guard.pipe"))


def test_a_nan_step_is_skipped_and_training_goes_on(tmp_path: Path) -> None:
    trainer = build(tmp_path, [2])
    with pytest.warns(RuntimeWarning, match="non-finite loss or gradient in step 3; update skipped"):
        trainer()
    assert trainer.hook_instances["guard"].skipped == [2]
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert trainer.trainer_progress_state.global_step_id == 8


def test_consecutive_nans_stop_with_a_checkpoint(tmp_path: Path) -> None:
    trainer = build(tmp_path, [3, 4, 5])
    with pytest.warns(RuntimeWarning), pytest.raises(RunInterrupted) as info:
        trainer()
    assert info.value.exit_code == 1
    assert "nan_guard: 3 consecutive steps with a non-finite loss or gradient (the last in step 6)" in str(info.value)
    assert info.value.checkpoint == tmp_path / "ckpt" / "step-00000006"
    assert (tmp_path / "ckpt" / "step-00000006" / "hookpipe-checkpoint.json").is_file()
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
