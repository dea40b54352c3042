"""``SimpleTrainer``: RoboOrchard Lab's deprecated flat-argument trainer, on :class:`HookBasedTrainer`.

RoboOrchard Lab 0.4.0 keeps it (``robo_orchard_lab.pipeline.trainer``) for its
projects' ``train.py`` scripts, which build on it rather than on
``HookBasedTrainer``. It turns its flat arguments into the hook configs the
seed's trainer takes (resume, gradient clipping, validation through
:meth:`SimpleTrainer.eval`) and warns, as the seed does, that it is deprecated.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from inspect import signature
from typing import Any, Iterable, Literal, Optional

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig
from hookpipe.runtime.hooks.grad_clip import GradientClippingHookConfig
from hookpipe.runtime.hooks.mixin import PipelineHooks
from hookpipe.runtime.hooks.validation import ValidationHookConfig
from hookpipe.runtime.loop.batch_processor import BatchProcessorMixin
from hookpipe.runtime.trainer import HookBasedTrainer, PipelineHookOrConfigType

__all__ = ["SimpleTrainer"]

#: The seed's logger name (``robo_orchard_lab.pipeline.trainer``), for its evaluation lines.
logger = logging.getLogger("robo_orchard_lab.pipeline.trainer")

#: The seed's warning text (its ``deprecated`` decorator's wording), so filters on it still match.
DEPRECATION = (
    "Call to deprecated class SimpleTrainer. (This class is deprecated. Use `HookBasedTrainer` instead.) "
    "-- Deprecated since version 0.2.0."
)

#: Where the seed copies a remote checkpoint when no ``resume_share_dir`` is given.
DEFAULT_RESUME_SHARE_DIR = "/tmp/resume_from"


class SimpleTrainer(HookBasedTrainer):
    """The seed's deprecated trainer: flat arguments, evaluation over ``val_dataloader`` with ``metric``.

    Args:
        model: The model to train.
        accelerator: The ``Accelerator`` that prepares everything and runs the loop.
        batch_processor: Runs forward and backward for one batch.
        dataloader: Batches for training.
        optimizer: The optimizer.
        lr_scheduler: The learning-rate scheduler.
        lr_scheduler_step_at: Must be ``"step"`` (kept for the seed's signature).
        max_step: Stop after this many steps.
        max_epoch: Stop after this many epochs.
        val_dataloader: Batches for :meth:`eval`; with it, evaluation runs on the
            ``step_eval_freq`` / ``epoch_eval_freq`` schedule.
        metric: An object with ``update(batch, model_outputs)``, ``compute()`` (or
            ``compute(accelerator=...)``) and ``reset()``.
        step_eval_freq: Evaluate every this many steps.
        epoch_eval_freq: Evaluate every this many epochs.
        resume_from: A checkpoint folder (or URL) to resume from.
        resume_share_dir: Where a remote checkpoint is copied (default ``/tmp/resume_from``).
        grad_clip_mode: ``"value"`` or ``"norm"``; None for no clipping.
        grad_clip_value: The bound for ``"value"``.
        grad_max_norm: The bound for ``"norm"``.
        grad_norm_type: The p of the norm.
        hooks: User hooks (instances or configs).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "SimpleTrainer":
        # At construction, as the seed's decorator warns (subclasses included), pointing at the caller.
        warnings.warn(DEPRECATION, DeprecationWarning, stacklevel=2)
        return super().__new__(cls)

    def __init__(
        self,
        model: torch.nn.Module,
        accelerator: Accelerator,
        batch_processor: BatchProcessorMixin,
        dataloader: DataLoader | Iterable[Any],
        optimizer: torch.optim.Optimizer,
        lr_scheduler: torch.optim.lr_scheduler.LRScheduler,
        lr_scheduler_step_at: Literal["step"] = "step",
        max_step: Optional[int] = None,
        max_epoch: Optional[int] = None,
        val_dataloader: Optional[DataLoader | Iterable[Any]] = None,
        metric: Any = None,
        step_eval_freq: Optional[int] = None,
        epoch_eval_freq: Optional[int] = None,
        resume_from: Optional[str] = None,
        resume_share_dir: Optional[str] = None,
        grad_clip_mode: Optional[Literal["value", "norm"]] = None,
        grad_clip_value: Optional[float] = None,
        grad_max_norm: Optional[float] = None,
        grad_norm_type: int = 2,
        hooks: PipelineHookOrConfigType | Iterable[PipelineHookOrConfigType] | None = None,
    ) -> None:
        assert lr_scheduler_step_at in ["step"], "lr_scheduler_step_at is deprecated. It should always be 'step'."
        resume = None
        if resume_from is not None:
            resume = ResumeCheckpointConfig(resume_from=resume_from,
                                            cache_dir=resume_share_dir or DEFAULT_RESUME_SHARE_DIR)
        grad_clip = None
        if grad_clip_mode is not None:
            grad_clip = GradientClippingHookConfig(clip_mode=grad_clip_mode, clip_value=grad_clip_value,
                                                   max_norm=grad_max_norm, norm_type=grad_norm_type)
        validation = None
        if val_dataloader is not None:
            # A proxy, as in the seed: the hook's closure must not keep the trainer alive.
            trainer = weakref.proxy(self)

            def eval_callback(model: torch.nn.Module) -> None:
                trainer.eval()

            validation = ValidationHookConfig(eval_callback=eval_callback, step_eval_freq=step_eval_freq,
                                              epoch_eval_freq=epoch_eval_freq)
        super().__init__(
            model=model,
            accelerator=accelerator,
            batch_processor=batch_processor,
            dataloader=dataloader,
            optimizer=optimizer,
            lr_scheduler=lr_scheduler,
            max_step=max_step,
            max_epoch=max_epoch,
            hooks=PipelineHooks.from_hooks(hooks),
            resume_from=resume,
            grad_clip=grad_clip,
            validation=validation,
        )
        self.metric = metric
        self.val_dataloader = accelerator.prepare(val_dataloader) if val_dataloader is not None else None

    @torch.no_grad()
    def eval(self) -> Optional[Any]:
        """Run the model over ``val_dataloader``, feed ``metric``, and return its ``compute()``.

        The metric is reset after; the model's training mode is restored.
        """
        assert self.val_dataloader is not None and self.metric is not None, (
            "val_dataloader and metric should not be None"
        )
        training = self.model.training
        self.model.eval()
        torch.cuda.empty_cache()
        if self.accelerator.is_main_process:
            logger.info("\n" + "=" * 50 + "BEGIN EVAL" + "=" * 50)
        for val_step_id, batch in enumerate(self.val_dataloader):
            model_outputs = self.model(batch)
            self.metric.update(batch, model_outputs)
            if (val_step_id + 1) % 10 == 0 and self.accelerator.is_main_process:
                logger.info(f"eval: {val_step_id + 1}")
        self.accelerator.wait_for_everyone()
        if "accelerator" in signature(self.metric.compute).parameters:
            metric = self.metric.compute(accelerator=self.accelerator)
        else:
            metric = self.metric.compute()
        self.accelerator.wait_for_everyone()
        self.metric.reset()
        torch.cuda.empty_cache()
        self.model.train(training)
        return metric
