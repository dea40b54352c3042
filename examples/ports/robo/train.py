"""The Python half of ``examples/ports/robo/train.pipe``: what RoboOrchard Lab's tutorial passes
to its ``HookBasedTrainer`` as objects, as the factories ``hookpipe import robo`` asked for.

The tutorial ("Leveraging Built-in Hooks for Common Training Tasks") trains a ResNet-50
on fake ImageNet images with SGD and a step schedule; this port keeps its optimizer,
schedule and batch processor and trains a small network on the 8x8 digits, so the
example runs in seconds.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from examples.digits.train import train_set
from hookpipe.runtime import SimpleBatchProcessor

__all__ = ["batch_processor", "dataloader", "model", "optimizer"]


def model(hidden: int = 64) -> nn.Module:
    """A two-layer network on the 64 pixels of a digit."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def dataloader(batch_size: int = 32) -> DataLoader:
    """Shuffled training batches of (pixels, label)."""
    x, y = train_set()
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)


def optimizer(params: Iterable[Any], lr: float = 0.1) -> torch.optim.Optimizer:
    """The tutorial's optimizer: SGD with momentum 0.9 and weight decay 1e-4."""
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)


class _Processor(SimpleBatchProcessor):
    """The tutorial's ``MyBatchProcessor``: cross-entropy on the model's output."""

    def __init__(self) -> None:
        super().__init__(need_backward=True)
        self.criterion = nn.CrossEntropyLoss()

    def forward(self, model: nn.Module, batch: Any) -> tuple[Any, torch.Tensor | None]:
        images, target = batch
        output = model(images)
        return output, self.criterion(output, target) if self.need_backward else None


def batch_processor() -> SimpleBatchProcessor:
    return _Processor()
