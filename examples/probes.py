"""What ``examples/all_scopes.pipe`` uses: a small regression task and probe hooks.

The probes are hookpipe hook classes (see docs/runtime.md): plain classes whose
methods are named like the callbacks they implement, with their effects declared
both here and in the ``.pipe`` file. Each one records what it saw, so the example
shows every scope and phase running, in order.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.runtime import PipelineHookArgs, SimpleBatchProcessor

__all__ = ["GradNorm", "InputStats", "Regression", "Timer", "build_model", "evaluate", "regression_loader"]


def build_model(sizes: list[int], options: dict[str, Any] | None = None) -> nn.Module:
    """An MLP with the given layer sizes, e.g. ``[8, 16, 1]``."""
    options = options or {}
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bool(options.get("bias", True))))
        if i < len(sizes) - 2:
            layers += [nn.ReLU(), nn.Dropout(float(options.get("dropout", 0.0)))]
    return nn.Sequential(*layers)


def _data(size: int, features: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(size, features, generator=g)
    w = torch.linspace(-1, 1, features)
    return x, (x @ w + 0.1 * torch.randn(size, generator=g)).unsqueeze(1)


def regression_loader(batch_size: int = 16, size: int = 512, features: int = 8) -> DataLoader:
    """A noisy linear target; shuffled batches of (x, y)."""
    return DataLoader(TensorDataset(*_data(size, features, seed=0)), batch_size=batch_size, shuffle=True)


class Regression(SimpleBatchProcessor):
    """Mean squared error."""

    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        prediction = model(x)
        return prediction, F.mse_loss(prediction.float(), y)


def evaluate(args: PipelineHookArgs) -> dict[str, float]:
    """Mean squared error on a held-out sample drawn with another seed."""
    model = args.accelerator.unwrap_model(args.model)
    x, y = _data(256, next(model.parameters()).shape[1], seed=1)
    with torch.no_grad():
        loss = F.mse_loss(model(x).float(), y)
    return {"held_out_mse": float(loss)}


class Timer:
    """Seconds between the phases it is attached to (writes ``time``)."""

    effects = {"writes": ("time",)}

    def __init__(self) -> None:
        self.marks: list[tuple[str, int, float]] = []

    def _mark(self, where: str, args: PipelineHookArgs) -> None:
        self.marks.append((where, args.global_step_id, time.perf_counter()))

    def on_epoch_begin(self, args: PipelineHookArgs) -> None:
        self._mark("epoch", args)

    def on_step_begin(self, args: PipelineHookArgs) -> None:
        self._mark("step", args)

    def on_model_forward_begin(self, args: PipelineHookArgs) -> None:
        self._mark("forward.before", args)

    def on_model_forward_end(self, args: PipelineHookArgs) -> None:
        self._mark("forward.after", args)

    def on_model_backward_begin(self, args: PipelineHookArgs) -> None:
        self._mark("backward.before", args)


class InputStats:
    """Running mean of the batch inputs and of the loss (reads ``loss``)."""

    effects = {"reads": ("loss",)}

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self.input_means: list[float] = []
        self.losses: list[float] = []

    def on_batch_begin(self, args: PipelineHookArgs) -> None:
        x, _ = args.batch
        self.input_means.append(float(x.mean()))
        if self.keep is not None:
            del self.input_means[: -self.keep]

    def on_batch_end(self, args: PipelineHookArgs) -> None:
        if args.reduce_loss is not None:
            self.losses.append(float(args.reduce_loss.detach()))


class GradNorm:
    """The global gradient norm after backward (reads ``grads``, writes ``metrics``)."""

    effects = {"reads": ("grads",), "writes": ("metrics",)}

    def __init__(self, norm_type: float = 2.0) -> None:
        self.norm_type = norm_type
        self.norms: list[float] = []

    def on_model_backward_end(self, args: PipelineHookArgs) -> None:
        assert args.model is not None
        norms = [p.grad.detach().norm(self.norm_type) for p in args.model.parameters() if p.grad is not None]
        total = float(torch.stack(norms).norm(self.norm_type)) if norms else 0.0
        if math.isfinite(total):
            self.norms.append(total)
