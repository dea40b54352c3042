"""The Python half of ``examples/ports/yolox/train.pipe``: MMDetection's YOLOX-s hooks on a toy problem.

``hookpipe import mmengine`` kept YOLOX's schedule and hook order and asked for a
person in five places; this module is that person's work:

- ``optimizer``: YOLOX's ``paramwise_cfg`` (no weight decay for norm layers and
  biases: every 1-D parameter);
- ``lr_scheduler``: MMEngine's three-phase schedule (quadratic warmup, cosine,
  constant), converted to optimizer updates;
- ``ModeSwitch`` (``YOLOXModeSwitchHook``), ``SyncNorm`` (``SyncNormHook``) and
  ``ShowDetections`` (``DetVisualizationHook``) as hookpipe hook classes.

The "detector" is a small network with batch norm on the 8x8 digits (so there are
norm statistics to synchronise and average); the "strong augmentation" switched off
in the last epochs is input noise, standing in for Mosaic and MixUp.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader, Dataset

from examples.digits.train import held_out, train_set
from hookpipe.runtime import PipelineHookArgs, SimpleBatchProcessor

__all__ = ["ModeSwitch", "Processor", "ShowDetections", "SyncNorm", "build_model", "lr_scheduler", "optimizer",
           "train_loader", "val_loader", "val_step"]


class _Digits(Dataset):
    """The first ``size`` digits; ``strong`` adds noise (the pipeline YOLOX's mode switch turns off)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, size: int) -> None:
        self.x, self.y = x[:size], y[:size]
        self.strong = True

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[i]
        if self.strong:
            x = x + 0.1 * torch.randn_like(x)
        return x, self.y[i]


def build_model(hidden: int = 32) -> nn.Module:
    return nn.Sequential(nn.Linear(64, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_loader(batch_size: int = 32, size: int = 64) -> DataLoader:
    return DataLoader(_Digits(*train_set(), size), batch_size=batch_size, shuffle=True, drop_last=True)


def val_loader(size: int = 64, batch_size: int = 1) -> DataLoader:
    """One digit a batch (the config's val_dataloader has 8): the 64 held-out digits make 64
    batches, so the visualization hook's ``every 50 batches`` draws once per validation."""
    x, y = held_out()
    dataset = _Digits(x, y, size)
    dataset.strong = False
    return DataLoader(dataset, batch_size=batch_size)


def val_step(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
    x, y = batch
    logits = model(x).float()
    return {"loss": F.cross_entropy(logits, y, reduction="none"), "accuracy": (logits.argmax(1) == y).float()}


class Processor(SimpleBatchProcessor):
    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        logits = model(x)
        return logits, F.cross_entropy(logits.float(), y)


def optimizer(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float,
              nesterov: bool = False) -> torch.optim.Optimizer:
    """SGD with YOLOX's ``paramwise_cfg``: ``norm_decay_mult=0``, ``bias_decay_mult=0`` (1-D parameters)."""
    params = list(params)
    groups = [{"params": [p for p in params if p.ndim > 1]},
              {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


def lr_scheduler(optimizer: torch.optim.Optimizer, schedule: Sequence[Mapping[str, Any]],
                 steps_per_epoch: int) -> LambdaLR:
    """MMEngine's epoch-based phases as one per-update factor (``convert_to_iter_based``).

    ``QuadraticWarmupLR`` scales by ``(t / T)**2``; ``CosineAnnealingLR`` anneals to
    ``eta_min`` over ``T_max`` epochs from its ``begin``; ``ConstantLR`` multiplies by
    ``factor``. As MMEngine's schedulers do, a phase that ends leaves its last value
    (the one of update ``end - 1``) to the updates after it, and ``ConstantLR``
    applies its factor for ``end - begin - 1`` updates (MMEngine's ``total_iters``).
    """
    base = optimizer.param_groups[0]["lr"]
    phases = [(str(p["type"]).rsplit(".", 1)[-1], p["begin"] * steps_per_epoch, p["end"] * steps_per_epoch, p)
              for p in schedule]
    known = {"QuadraticWarmupLR", "CosineAnnealingLR", "ConstantLR"}
    if not {kind for kind, *_ in phases} <= known:
        raise ValueError(f"lr_scheduler: only {sorted(known)} are ported")

    def cosine(p: Mapping[str, Any], t: int) -> float:
        span = p["T_max"] * steps_per_epoch
        return (p["eta_min"] + (base - p["eta_min"]) * (1 + math.cos(math.pi * t / span)) / 2) / base

    def factor(update: int) -> float:
        held = 1.0  # what the phases before this update left
        for kind, begin, end, p in phases:
            if update < begin:
                return held
            t = update - begin
            if kind == "QuadraticWarmupLR":
                if update < end:
                    return ((t + 1) / (end - begin)) ** 2
                held = 1.0
            elif kind == "CosineAnnealingLR":
                if update < end:
                    return cosine(p, t)
                held = cosine(p, end - begin - 1)
            elif update < end - 1:
                return float(p["factor"]) * held
        return held

    return LambdaLR(optimizer, factor)


class ModeSwitch:
    """``YOLOXModeSwitchHook``: before the last ``num_last_epochs`` epochs, turn the strong augmentation off."""

    def __init__(self, num_last_epochs: int = 15) -> None:
        self.num_last_epochs = num_last_epochs
        self.switched = False

    def on_epoch_begin(self, args: PipelineHookArgs) -> None:
        # MMDetection: ``(epoch + 1) == max_epochs - num_last_epochs`` before the 0-based epoch ``epoch``
        last = args.max_epoch if args.max_epoch is not None else 0
        if args.epoch_id + 1 >= last - self.num_last_epochs and not self.switched:
            dataset = args.dataloader.dataset if hasattr(args.dataloader, "dataset") else None
            if isinstance(dataset, _Digits):
                dataset.strong = False
            self.switched = True
            args.accelerator.print(f"epoch {args.epoch_id + 1}: strong augmentation off")


_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


class SyncNorm:
    """``SyncNormHook``: average the norm layers' running statistics over processes before validation."""

    effects = {"writes": ("params",)}

    def on_epoch_end(self, args: PipelineHookArgs) -> None:
        if args.accelerator.num_processes < 2:
            return
        model = args.accelerator.unwrap_model(args.model)
        for module in model.modules():
            if isinstance(module, _NORMS) and module.running_mean is not None and module.running_var is not None:
                for buffer in (module.running_mean, module.running_var):
                    buffer.copy_(args.accelerator.reduce(buffer, reduction="mean"))


class ShowDetections:
    """``DetVisualizationHook``: draw what the model predicts for a validation batch.

    MMDetection's ``interval`` is the attachment's ``every 50 batches`` in the
    ``validation evaluate { batch { after { } } }`` block; this counts and names the
    batches it was given (``args.step_id`` is the validation batch id, ``args.model_outputs``
    the per-sample values of ``val_step``), where a real port would draw them.
    """

    def __init__(self, draw: bool = True) -> None:
        self.draw = draw
        self.shown = 0

    def on_validation_batch_end(self, args: PipelineHookArgs) -> None:
        if self.draw and args.batch is not None and args.model_outputs is not None:
            self.shown += 1
            args.accelerator.print(f"drew validation batch {args.step_id} "
                                   f"({len(args.model_outputs['loss'])} images)")
