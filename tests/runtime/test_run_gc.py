"""A run's setup is kept out of the garbage collections its steps trigger (``hookpipe.perf.kept_for_run``)."""

from __future__ import annotations

import gc

import pytest
import torch
from accelerate import Accelerator

from hookpipe.runtime import HookBasedTrainer, HookContext, PipelineHookArgs, PipelineHooks
from tests.runtime.hooklib import MSE, tiny_loader, tiny_model


def _trainer(on_step: object) -> HookBasedTrainer:
    hooks = PipelineHooks()
    hooks.register_hook("on_step", HookContext.from_callable(after=on_step))
    model = tiny_model()
    return HookBasedTrainer(
        accelerator=Accelerator(cpu=True),
        model=model,
        dataloader=tiny_loader(n=10, batch_size=2),
        batch_processor=MSE(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        lr_scheduler=None,
        hooks=hooks,
        max_step=4,
    )


def test_the_steps_run_with_the_setup_frozen_and_the_run_unfreezes_it() -> None:
    seen: list[int] = []
    trainer = _trainer(lambda args: seen.append(gc.get_freeze_count()))
    gc.collect()
    assert gc.get_freeze_count() == 0
    trainer()
    assert len(seen) == 4
    assert min(seen) > 1000  # the modules, the model, the trainer: out of the collector's sight
    assert gc.get_freeze_count() == 0


def test_a_failing_run_unfreezes_too() -> None:
    def boom(args: PipelineHookArgs) -> None:
        raise RuntimeError("boom")

    trainer = _trainer(boom)
    with pytest.raises(Exception, match="boom"):
        trainer()
    assert gc.get_freeze_count() == 0
