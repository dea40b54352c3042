"""A validation run that leaves its loader early unregisters it from accelerate's ``GradientState``.

The sanity validation evaluates the first ``sanity_val_batches`` batches of the
validation loader before step 1. Left registered at its last batch, accelerate's
prepared loader says ``end_of_dataloader`` to the whole run; with a training loader
accelerate did not prepare (a plain iterable) every step of epoch 0 then
synchronised gradients: no accumulation, and ``every N batches`` guards off.
"""

from __future__ import annotations

import pytest
import torch
from accelerate import Accelerator

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.builtins.validation_loader import LoaderEvaluation
from tests.runtime import trial_resume_lib
from tests.runtime.planbuild import tiny_trainer_text
from tests.runtime.trackinglib import val_loader, val_step

# 6 plain batches; the validation loader has 3 (10 samples in 4s), so the sanity check's 2 end at its last one.
PIPE = """use h = "tests.runtime.hooklib"
use r = "tests.runtime.trial_resume_lib"
use t = "tests.runtime.trackinglib"
""" + tiny_trainer_text(n=12, max_step=6, seed=0, grad_accumulation=2, progress=False,
                        dataloader="r.plain_batches(n = 12, batch_size = 2)") + """\
hook optimize = optimizer()
hook probe    = r.SyncProbe()
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader(n = 10, batch_size = 4))
loop {
    epoch {
        step {
            before { probe }
            after { optimize }
        }
        after { evaluate }
    }
}
"""


def _syncs(*sets: str) -> list[tuple[int, bool]]:
    text = PIPE
    for setting in sets:
        text = text.replace("    progress ", f"    {setting}\n    progress ")
    trial_resume_lib.SYNCS.clear()
    HookBasedTrainer.from_plan(compile_text(text, "sanity.pipe"))()
    return list(trial_resume_lib.SYNCS)


def test_accumulation_stays_on_in_epoch_0_after_the_sanity_validation() -> None:
    expected = [(0, False), (1, True), (2, False), (3, True), (4, False), (5, True)]
    assert _syncs() == expected  # sanity_val_batches = 2, the default
    assert _syncs("sanity_val_batches = 0") == expected


def _registered(accelerator: Accelerator) -> bool:
    state = accelerator.gradient_state
    return state.in_dataloader or state.end_of_dataloader


def test_an_evaluation_left_early_or_failing_leaves_no_loader_registered() -> None:
    accelerator = Accelerator(cpu=True)
    model = torch.nn.Linear(4, 1)
    assert not _registered(accelerator)
    evaluation = LoaderEvaluation(val_step, val_loader(n=10, batch_size=4))
    assert set(evaluation.run(accelerator, model, limit=2)) == {"mse", "close"}  # 2 of its 3 batches
    assert not _registered(accelerator)

    def broken(model: torch.nn.Module, batch: object) -> dict[str, torch.Tensor]:
        raise ValueError("eval broke")

    with pytest.raises(ValueError, match="eval broke"):
        LoaderEvaluation(broken, val_loader(n=10, batch_size=4)).run(accelerator, model)
    assert not _registered(accelerator)
    evaluation.run(accelerator, model)  # to the end, as before
    assert not _registered(accelerator)
