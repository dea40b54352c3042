"""Contender (e): RoboOrchard Lab 0.4.0's HookBasedTrainer, run in its own venv.

The same workload and hooks as hookpipe's seed-API contender (c). RoboOrchard's
optimizer hook requires a learning-rate scheduler; the workload has none, so it
gets an object whose ``step()`` does nothing (accelerate leaves it unwrapped), the
cheapest stand-in, which keeps the math identical to the other contenders.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from benchmarks.runtime.workload import GATE_EVERY, LR, MAX_NORM, TimedBatches, checksum, make_batches, make_model, noop


class _NoScheduler:
    def step(self) -> None:
        pass


def run(k: int, gated: bool, warmup: int, steps: int) -> tuple[float, str]:
    from accelerate import Accelerator
    from robo_orchard_core.utils.hook import HookContext
    from robo_orchard_lab.pipeline.batch_processor.simple import SimpleBatchProcessor
    from robo_orchard_lab.pipeline.hook_based_trainer import GradientClippingHookConfig, HookBasedTrainer
    from robo_orchard_lab.pipeline.hooks.mixin import PipelineHooks

    class MSE(SimpleBatchProcessor):
        def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
            x, y = batch
            out = model(x)
            return out, F.mse_loss(out, y)

    def gated_noop(args: Any) -> None:
        if (args.global_step_id + 1) % GATE_EVERY == 0:
            pass

    user = []
    for _ in range(k):
        hooks = PipelineHooks()
        hooks.register_hook("on_step", HookContext.from_callable(after=gated_noop if gated else noop))
        user.append(hooks)
    model = make_model()
    data = TimedBatches(make_batches(warmup + steps), warmup)
    trainer = HookBasedTrainer(
        accelerator=Accelerator(),
        model=model,
        dataloader=data,
        batch_processor=MSE(),
        optimizer=torch.optim.SGD(model.parameters(), lr=LR),
        lr_scheduler=_NoScheduler(),
        hooks=user,
        max_step=warmup + steps,
        grad_clip=GradientClippingHookConfig(clip_mode="norm", max_norm=MAX_NORM),
    )
    trainer()
    return data.elapsed(), checksum(model)


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"robo-orchard-lab": version("robo-orchard-lab"), "accelerate": version("accelerate")}
