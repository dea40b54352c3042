"""What ``examples/cnn/train.pipe`` uses: a small CNN on the 8x8 digits, its data and schedule.

The split is the digits example's (``examples.digits.train``): the same fixed
permutation, 80% to train, the held-out 20% for validation, here as a dataloader
that accelerate shards across processes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader, TensorDataset

from examples.digits.train import held_out, train_set
from hookpipe.runtime import SimpleBatchProcessor

__all__ = ["Processor", "build_model", "train_loader", "val_loader", "val_step", "warmup_cosine"]


def _images(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(-1, 1, 8, 8)


def build_model(width: int = 32, dropout: float = 0.25) -> nn.Module:
    """Two 3x3 convolutions, a 2x2 max-pool, and a small classifier head."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(dropout),
        nn.Linear(2 * width * 16, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def train_loader(batch_size: int = 16) -> DataLoader:
    """Shuffled training batches of (1x8x8 image, label)."""
    x, y = train_set()
    return DataLoader(TensorDataset(_images(x), y), batch_size=batch_size, shuffle=True)


def val_loader(batch_size: int = 64) -> DataLoader:
    """The held-out images, in order (validation averages over all of them)."""
    x, y = held_out()
    return DataLoader(TensorDataset(_images(x), y), batch_size=batch_size)


def val_step(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
    """Per-sample loss and correctness; hookpipe gathers them over processes and averages."""
    x, y = batch
    logits = model(x).float()
    return {"loss": F.cross_entropy(logits, y, reduction="none"), "accuracy": (logits.argmax(dim=1) == y).float()}


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup: int, total: int, floor: float = 0.05) -> LambdaLR:
    """Linear warmup over ``warmup`` updates, then a cosine down to ``floor`` times the base rate at ``total``."""

    def factor(update: int) -> float:
        if update < warmup:
            return (update + 1) / warmup
        progress = min(1.0, (update - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


class Processor(SimpleBatchProcessor):
    """Cross-entropy on logits."""

    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        logits = model(x)
        return logits, F.cross_entropy(logits.float(), y)
