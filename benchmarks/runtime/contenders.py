"""Contenders (a)-(d): the hand-written limits and hookpipe, all in hookpipe's venv.

Every ``run_*`` function trains the workload of :mod:`.workload` for ``warmup +
steps`` steps with ``k`` extra no-op hooks at the end of each step (gated ``every
1000 steps`` when ``gated``), and returns the timed seconds and a checksum of the
final parameters (all contenders do the same math, so the checksums must agree).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from benchmarks.runtime.workload import (
    GATE_EVERY,
    LR,
    MAX_NORM,
    TimedBatches,
    accelerator_kwargs,
    checksum,
    device,
    forward_of,
    make_batches,
    make_model,
    mixed_precision,
    noop,
)

__all__ = ["CONTENDERS", "pipe_text"]

Result = tuple[float, str]


def _hooks(k: int, gated: bool) -> tuple[list[Callable[[Any], None]], int]:
    return [noop] * k, (GATE_EVERY if gated else 1)


def run_plain(k: int, gated: bool, warmup: int, steps: int) -> Result:
    """(a) The limit: a hand-written PyTorch loop."""
    model = make_model()
    data = TimedBatches(make_batches(warmup + steps), warmup)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    params = list(model.parameters())
    hooks, every = _hooks(k, gated)
    clip = torch.nn.utils.clip_grad_norm_
    forward = forward_of(model)
    model.train()
    step = 0
    for x, y in data:
        out = forward(x)
        loss = F.mse_loss(out.float(), y)
        loss.backward()
        clip(params, MAX_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        if step % every == 0:
            for hook in hooks:
                hook(step)
    return data.elapsed(), checksum(model)


def run_accelerate(k: int, gated: bool, warmup: int, steps: int) -> Result:
    """(b) The same loop through accelerate, as its documentation writes it."""
    from accelerate import Accelerator

    accelerator = Accelerator(**accelerator_kwargs())
    model = make_model()
    data = TimedBatches(make_batches(warmup + steps), warmup)
    model, opt, data = accelerator.prepare(model, torch.optim.SGD(model.parameters(), lr=LR), data)
    params = list(model.parameters())
    hooks, every = _hooks(k, gated)
    model.train()
    step = 0
    for x, y in data:
        with accelerator.accumulate(model):
            loss = F.mse_loss(model(x), y)  # accelerate autocasts the forward and returns float32
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(params, MAX_NORM)
            opt.step()
            opt.zero_grad(set_to_none=True)
        step += 1
        if step % every == 0:
            for hook in hooks:
                hook(step)
    return data.elapsed(), checksum(model)


def run_hookpipe_seed(k: int, gated: bool, warmup: int, steps: int) -> Result:
    """(c) hookpipe's HookBasedTrainer built in Python, as the seed documents it.

    The seed API has no frequency guards: a gated hook tests the step itself, as a
    user of the seed would write it.
    """
    from accelerate import Accelerator

    from hookpipe.runtime import GradientClippingHookConfig, HookBasedTrainer, PipelineHooks
    from hookpipe.runtime.hooks.mixin import HookContext

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
        accelerator=Accelerator(**accelerator_kwargs()),
        model=model,
        dataloader=data,
        batch_processor=_processor(),
        optimizer=torch.optim.SGD(model.parameters(), lr=LR),
        lr_scheduler=None,
        hooks=user,
        max_step=warmup + steps,
        grad_clip=GradientClippingHookConfig(clip_mode="norm", max_norm=MAX_NORM),
    )
    trainer()
    return data.elapsed(), checksum(model)


def pipe_text(k: int, gated: bool, max_step: int, processor: str | None = None) -> str:
    """The ``.pipe`` file of contender (d); ``processor`` names a batch processor in the file."""
    guard = f" every {GATE_EVERY} steps" if gated else ""
    named = f"    batch_processor = {processor}\n" if processor is not None else ""
    lines = [
        'pipeline "runtime-benchmark"',
        'use bench = "benchmarks.runtime.workload"',
        f"trainer {{\n    max_step = {max_step}\n    grad_accumulation = 1\n    mixed_precision = \"{mixed_precision()}\"\n"
        f"    cpu = {'false' if device().type == 'cuda' else 'true'}\n{named}}}",
        'hook clip = grad_clip(mode = "norm", max_norm = 1.0)',
        "hook optimize = optimizer()",
        *(f"hook n{i} = bench.Noop()" for i in range(k)),
        "loop {\n    epoch {\n        step {\n            after {",
        "                clip -> optimize",
        *(f"                n{i}{guard}" for i in range(k)),
        "            }\n        }\n    }\n}",
    ]
    return "\n".join(lines) + "\n"


def run_hookpipe_pipe(k: int, gated: bool, warmup: int, steps: int) -> Result:
    """(d) hookpipe's HookBasedTrainer from a ``.pipe`` file."""
    from hookpipe.runtime import HookBasedTrainer

    model = make_model()
    data = TimedBatches(make_batches(warmup + steps), warmup)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pipe"
        path.write_text(pipe_text(k, gated, warmup + steps), encoding="utf-8")
        trainer = HookBasedTrainer.from_file(
            str(path),
            model=model,
            dataloader=data,
            batch_processor=_processor(),
            optimizer=torch.optim.SGD(model.parameters(), lr=LR),
        )
    trainer()
    return data.elapsed(), checksum(model)


def _processor(average_loss: bool = True) -> Any:
    from benchmarks.runtime.workload import call_processor, custom_processor
    from hookpipe.runtime import SimpleBatchProcessor

    if custom_processor():
        return call_processor()

    class MSE(SimpleBatchProcessor):
        def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
            x, y = batch
            out = model(x)
            return out, F.mse_loss(out, y)

    return MSE(average_loss=average_loss)


CONTENDERS: dict[str, Callable[[int, bool, int, int], Result]] = {
    "plain": run_plain,
    "accelerate": run_accelerate,
    "hookpipe_seed": run_hookpipe_seed,
    "hookpipe_pipe": run_hookpipe_pipe,
}
