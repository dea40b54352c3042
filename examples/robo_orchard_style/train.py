"""A RoboOrchard Lab training script, running on hookpipe with only its imports changed.

Written as a RoboOrchard Lab 0.4.0 user writes one: a batch processor, a
``MetricTracker`` subclass with a torchmetrics accuracy, ``StatsMonitor``,
``LossMovingAverageTracker``, ``SaveCheckpoint``, gradient clipping and
validation through the trainer's arguments. On RoboOrchard Lab the three
imports below read::

    from robo_orchard_lab.pipeline.batch_processor import SimpleBatchProcessor
    from robo_orchard_lab.pipeline.hook_based_trainer import HookBasedTrainer, ResumeCheckpointConfig
    from robo_orchard_lab.pipeline.hooks import (...)

Run: ``python -m examples.robo_orchard_style.train [--save-root DIR] [--max-epoch N] [--resume DIR]``
(handwritten digits, the data of ``examples/digits``).
"""

from __future__ import annotations

import argparse
import logging
import warnings
from typing import Any

import torch
import torch.nn.functional as F
import torchmetrics
from accelerate import Accelerator

from examples.digits.train import build_model, held_out, train_loader
from hookpipe.runtime import HookBasedTrainer, ResumeCheckpointConfig, SimpleBatchProcessor
from hookpipe.runtime.hooks import (
    GradientClippingHookConfig,
    LossMovingAverageTrackerConfig,
    MetricEntry,
    MetricTracker,
    MetricTrackerConfig,
    SaveCheckpointConfig,
    StatsMonitorConfig,
    ValidationHookConfig,
)

logger = logging.getLogger(__name__)


class DigitsProcessor(SimpleBatchProcessor):
    def forward(self, model: Any, batch: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        x, y = batch
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        return {"logits": logits, "ce_loss": loss}, loss


class AccuracyTracker(MetricTracker):
    def update_metric(self, batch: Any, model_outputs: Any) -> None:
        for metric in self.metrics:
            metric.update(model_outputs["logits"].detach(), batch[1])


class AccuracyTrackerConfig(MetricTrackerConfig):
    class_type: type[AccuracyTracker] = AccuracyTracker


def make_evaluate(results: list[float]) -> Any:
    """The seed's eval callback: called with the model, returns nothing."""
    x, y = held_out()

    def evaluate(model: torch.nn.Module) -> None:
        with torch.no_grad():
            accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
        results.append(accuracy)
        logger.info("held-out accuracy %.4f", accuracy)

    return evaluate


def build(save_root: str, max_epoch: int, resume: str | None = None, results: list[float] | None = None) -> HookBasedTrainer:
    torch.manual_seed(0)
    model = build_model(hidden=64)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    with warnings.catch_warnings():  # LossMovingAverageTracker is deprecated in the seed too
        warnings.simplefilter("ignore", DeprecationWarning)
        losses = LossMovingAverageTrackerConfig(step_log_freq=20)
    return HookBasedTrainer(
        accelerator=Accelerator(cpu=True),
        model=model,
        dataloader=train_loader(batch_size=32),
        batch_processor=DigitsProcessor(),
        optimizer=optimizer,
        lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=200, gamma=0.5),
        hooks=[
            AccuracyTrackerConfig(
                metric_entrys=MetricEntry("train_acc", torchmetrics.Accuracy(task="multiclass", num_classes=10)),
                step_log_freq=20,
            ),
            StatsMonitorConfig(step_log_freq=20),
            losses,
            SaveCheckpointConfig(save_root=save_root, save_step_freq=30),
        ],
        max_epoch=max_epoch,
        grad_clip=GradientClippingHookConfig(clip_mode="norm", max_norm=1.0),
        validation=ValidationHookConfig(eval_callback=make_evaluate(results if results is not None else []),
                                        epoch_eval_freq=1),
        resume_from=ResumeCheckpointConfig(resume_from=resume) if resume else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save-root", default="runs/robo_orchard_style")
    parser.add_argument("--max-epoch", type=int, default=3)
    parser.add_argument("--resume", default=None)
    opts = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    build(opts.save_root, opts.max_epoch, opts.resume)()


if __name__ == "__main__":
    main()
