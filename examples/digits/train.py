"""What ``examples/digits/train.pipe`` uses: data, model, batch processor, evaluation.

The data are the 1,797 8x8 images of the UCI handwritten digits (see README.md).
A fixed permutation (seed 1998) splits them: the first 80% train, the last 20% are
held out for :func:`evaluate`, so accuracies from different runs compare.
"""

from __future__ import annotations

import csv
import gzip
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.runtime import PipelineHookArgs, SimpleBatchProcessor

__all__ = ["Processor", "Throughput", "build_model", "evaluate", "held_out", "train_loader", "train_set"]

DATA = Path(__file__).with_name("digits.csv.gz")
SPLIT_SEED = 1998
HELD_OUT_FRACTION = 0.2


@lru_cache(maxsize=1)
def _dataset() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train x, train y, held-out x, held-out y), pixels standardised."""
    with gzip.open(DATA, "rt", newline="") as fh:
        rows = [[int(v) for v in row] for row in csv.reader(fh) if row]
    data = torch.tensor(rows, dtype=torch.float32)
    x, y = data[:, :64], data[:, 64].long()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
    cut = int(len(x) * (1 - HELD_OUT_FRACTION))
    train, test = order[:cut], order[cut:]
    # Standardise each pixel with training statistics: plain [0, 1] pixels train
    # several times slower with this small MLP and learning rate.
    mean, std = x[train].mean(dim=0), x[train].std(dim=0).clamp_min(0.1)
    x = (x - mean) / std
    return x[train], y[train], x[test], y[test]


def train_set() -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and labels (the first 80% of the fixed permutation)."""
    x, y, _, _ = _dataset()
    return x, y


def held_out() -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out images and labels (the last 20% of the fixed permutation)."""
    _, _, x, y = _dataset()
    return x, y


def build_model(hidden: int = 64) -> nn.Module:
    """A two-layer MLP from 64 pixels to 10 classes."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_loader(batch_size: int = 32) -> DataLoader:
    """Shuffled training batches of (pixels, label)."""
    return DataLoader(TensorDataset(*train_set()), batch_size=batch_size, shuffle=True)


class Processor(SimpleBatchProcessor):
    """Cross-entropy on logits; the trainer's hooks do the rest."""

    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        logits = model(x)
        return logits, F.cross_entropy(logits, y)


def evaluate(args: PipelineHookArgs) -> dict[str, float]:
    """Held-out accuracy of ``args.model`` (the validation hook sets eval mode).

    Every process evaluates the whole held-out set with its own copy of the model,
    so no collective is needed and all ranks agree.
    """
    model = args.accelerator.unwrap_model(args.model)
    x, y = held_out()
    device = next(model.parameters()).device
    with torch.no_grad():
        predicted = model(x.to(device)).argmax(dim=1).cpu()
    return {"accuracy": float((predicted == y).float().mean())}


class Throughput:
    """A hookpipe hook class: print steps per second each time it fires.

    Protocol: constructed with the ``.pipe`` arguments, called by the method named
    like the plan callback, effects declared as a class attribute.
    """

    effects = {"reads": ("time",)}

    def __init__(self, window: int = 50) -> None:
        self.window = window
        self._last: tuple[int, float] | None = None
        self.rates: list[float] = []

    def on_step_end(self, args: PipelineHookArgs) -> None:
        now, step = time.perf_counter(), args.global_step_id + 1
        if self._last is not None and step > self._last[0]:
            rate = (step - self._last[0]) / (now - self._last[1])
            self.rates.append(rate)
            args.accelerator.print(f"step {step}: {rate:.1f} steps/s")
        self._last = (step, now)
