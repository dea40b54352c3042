"""The Python half of ``examples/ports/lightning/train.pipe``: a LightningModule-shaped classifier,
its data module, and the functions ``hookpipe import lightning`` asked for.

``DigitClassifier`` and ``DigitsData`` are written the way a Lightning project writes
them (``training_step``, ``validation_step``, ``train_dataloader``...), without
importing Lightning: hookpipe needs only an ``nn.Module``. The port's functions adapt
them: ``Processor`` runs ``training_step``, ``val_step`` returns ``validation_step``'s
per-sample values, the loaders come from the data module.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from examples.digits.train import held_out, train_set
from hookpipe.runtime import SimpleBatchProcessor

__all__ = ["DigitClassifier", "DigitsData", "Processor", "train_loader", "val_loader", "val_step"]


class DigitClassifier(nn.Module):
    """A LightningModule's shape: the network, ``training_step`` and ``validation_step``."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int = 0) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self(x).float(), y)

    def validation_step(self, batch: Any, batch_idx: int = 0) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self(x).float()
        return {"loss": F.cross_entropy(logits, y, reduction="none"), "accuracy": (logits.argmax(1) == y).float()}


class DigitsData:
    """A LightningDataModule's shape: the 8x8 digits split 80/20."""

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(*train_set()), batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(*held_out()), batch_size=128)


def train_loader(batch_size: int = 32) -> DataLoader:
    return DigitsData(batch_size).train_dataloader()


def val_loader() -> DataLoader:
    return DigitsData().val_dataloader()


def val_step(model: Any, batch: Any) -> dict[str, torch.Tensor]:
    """``validation_step``'s per-sample loss and correctness (hookpipe averages them over the set).

    Under DDP (``hookpipe run --processes 2``) ``model`` is the wrapper: the module's own methods are on
    ``model.module``.
    """
    module = model.module if hasattr(model, "module") else model
    return dict(module.validation_step(batch))


class Processor(SimpleBatchProcessor):
    """Runs the module's ``training_step`` for the loss."""

    def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
        module = model.module if hasattr(model, "module") else model
        return None, module.training_step(batch)
