"""A batch processor that takes the seed's ``average_loss`` argument (for ``.pipe`` tests)."""

from __future__ import annotations

from typing import Any

import torch

from hookpipe.runtime import SimpleBatchProcessor


class MeanSquared(SimpleBatchProcessor):
    """Mean squared error; ``average_loss`` goes to the seed's constructor."""

    def __init__(self, average_loss: bool = True) -> None:
        super().__init__(average_loss=average_loss)

    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        out = model(x)
        return out, ((out - y) ** 2).mean()
