"""Contender (f): PyTorch Ignite's ``Engine``, run in its own venv.

The update function is the hand-written step; the no-op hooks are event handlers
on ``ITERATION_COMPLETED`` (``ITERATION_COMPLETED(every=1000)`` when gated), Ignite's
own frequency mechanism.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from benchmarks.runtime.workload import (
    GATE_EVERY,
    LR,
    MAX_NORM,
    TimedBatches,
    checksum,
    forward_of,
    make_batches,
    make_model,
    noop,
)


def run(k: int, gated: bool, warmup: int, steps: int) -> tuple[float, str]:
    from ignite.engine import Engine, Events

    model = make_model()
    data = TimedBatches(make_batches(warmup + steps), warmup)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    params = list(model.parameters())
    clip = torch.nn.utils.clip_grad_norm_

    forward = forward_of(model)

    def update(engine: Any, batch: Any) -> torch.Tensor:
        x, y = batch
        out = forward(x)
        loss = F.mse_loss(out.float(), y)
        loss.backward()
        clip(params, MAX_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    engine = Engine(update)
    event = Events.ITERATION_COMPLETED(every=GATE_EVERY) if gated else Events.ITERATION_COMPLETED
    for _ in range(k):
        engine.add_event_handler(event, noop)
    model.train()
    engine.run(data, max_epochs=1)
    return data.elapsed(), checksum(model)


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"pytorch-ignite": version("pytorch-ignite")}
