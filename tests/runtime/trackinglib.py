"""Hooks and callbacks the tracker, EMA and validation-loader tests name by import path."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.runtime import PipelineHookArgs

#: Every step's loss, as the LossRecorder hook saw it (a float per step, in order).
LOSSES: list[float] = []


class LossRecorder:
    """Appends each step's loss to :data:`LOSSES`."""

    effects = {"reads": ("loss",)}

    def on_step_end(self, args: PipelineHookArgs) -> None:
        LOSSES.append(float(args.reduce_loss.detach()))


def val_loader(n: int = 13, batch_size: int = 4) -> DataLoader:
    """Fixed inputs for the tiny model; 13 samples so the last batch is short (and padded on 2 processes)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(n, 4, generator=g)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=batch_size)


def val_step(model: Any, batch: Any) -> dict[str, torch.Tensor]:
    """Per-sample squared error and a 0/1 'close' flag."""
    x, y = batch
    err = ((model(x) - y) ** 2).reshape(-1)
    return {"mse": err, "close": (err < 1.0).float()}


def broken_val_step(model: Any, batch: Any) -> dict[str, torch.Tensor]:
    """A validation callback with a bug: it raises on its first batch."""
    raise ValueError("eval broke")


class Constant:
    """A validation callback that never improves: early_stop must end the run."""

    def __call__(self) -> dict[str, float]:
        return {"score": 1.0}


constant = Constant()


#: Snapshots of the floating-point parameters after each optimizer update.
UPDATES: list[list[torch.Tensor]] = []
#: The parameters each ``seen_weights`` validation call saw.
SEEN: list[list[torch.Tensor]] = []


class ParamRecorder:
    """Records the parameters after each optimizer update (attach after the optimizer)."""

    effects = {"reads": ("params",)}

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if args.accelerator.sync_gradients:
            UPDATES.append([p.detach().clone() for p in args.accelerator.unwrap_model(args.model).parameters()])


def seen_weights(args: PipelineHookArgs) -> dict[str, float]:
    """A validation callback that records the weights it is evaluated with."""
    SEEN.append([p.detach().clone() for p in args.accelerator.unwrap_model(args.model).parameters()])
    return {"calls": float(len(SEEN))}


class LossFile:
    """Appends each step's loss (repr of the float) to ``<path>.<rank>``: what each process saw."""

    effects = {"reads": ("loss",)}

    def __init__(self, path: str) -> None:
        self.path = path

    def on_step_end(self, args: PipelineHookArgs) -> None:
        with open(f"{self.path}.{args.accelerator.process_index}", "a", encoding="utf-8") as fh:
            fh.write(f"{float(args.reduce_loss.detach())!r}\n")


def rank_local_mse() -> Any:
    """MSE whose ``reduce_loss`` stays this rank's: the seed's processor averages it over
    processes, which would hide whether ``log()`` averages them itself."""
    from tests.runtime.hooklib import MSE

    mse = MSE()
    mse.average_loss = False
    return mse


def val_step_per_batch(model: Any, batch: Any) -> dict[str, float]:
    """:func:`val_step`'s metrics as one number per batch (the common habit: ``float(x.mean())``)."""
    values = val_step(model, batch)
    return {key: float(value.mean()) for key, value in values.items()}


def val_step_text(model: Any, batch: Any) -> dict[str, str]:
    """Not a metric at all: refused in one line."""
    return {"mse": "low"}


class Plateau:
    """A validation callback (at epoch ends, 4 steps each) whose loss improves for ``improving`` epochs, then stays flat."""

    def __init__(self, improving: int = 2) -> None:
        self.improving = improving

    def __call__(self, args: PipelineHookArgs) -> dict[str, float]:
        epochs = max(1, args.global_step_id // 4)  # the sanity validation (step 0) reads as the first
        return {"loss": 1.0 / min(epochs, self.improving)}


def plateau(improving: int = 2) -> Plateau:
    return Plateau(improving)
