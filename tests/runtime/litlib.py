"""A LightningModule-shaped classifier and the functions ``hookpipe import lightning`` asks for, tiny enough
for a CPU run in seconds (tests/runtime/test_ports_lightning.py)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.runtime import SimpleBatchProcessor

__all__ = ["Data", "Net", "Processor", "train_loader", "val_loader", "val_step"]


def _points(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Four features; the class is the largest of three fixed sums of them (learnable by a linear layer)."""
    x = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))
    mix = torch.randn(4, 3, generator=torch.Generator().manual_seed(99))
    return x, (x @ mix).argmax(dim=1)


class Net(nn.Module):
    """A LightningModule's shape: the network, ``training_step`` and ``validation_step``."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int = 0) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch: Any, batch_idx: int = 0) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self(x)
        return {"val_loss": F.cross_entropy(logits, y, reduction="none"), "val_acc": (logits.argmax(1) == y).float()}


class Data:
    """A LightningDataModule's shape."""

    def __init__(self, n: int = 28, batch_size: int = 2) -> None:
        self.n, self.batch_size = n, batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(*_points(self.n, 0)), batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(*_points(12, 1)), batch_size=4)


def train_loader(n: int = 28, batch_size: int = 2) -> DataLoader:
    return Data(n, batch_size).train_dataloader()


def val_loader() -> DataLoader:
    return Data().val_dataloader()


def val_step(model: Any, batch: Any) -> dict[str, torch.Tensor]:
    return dict(model.validation_step(batch))


class Processor(SimpleBatchProcessor):
    """Runs the module's ``training_step`` for the loss."""

    def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
        module = model.module if hasattr(model, "module") else model
        return None, module.training_step(batch)
