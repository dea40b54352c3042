"""``HookBasedTrainer``: the seed's trainer, built in Python or from a compiled Plan.

Built in Python (the seed's constructor) the channels hold registered hooks: the
defaults (gradient clipping, optimizer, validation) first, in that order, then the
user's. Built from a Plan (:meth:`HookBasedTrainer.from_plan`,
:meth:`HookBasedTrainer.from_file`, or :meth:`HookBasedTrainer.from_parts` with what
:func:`hookpipe.runtime.build.plan_parts` returns) the channels run the Plan's
compiled phases and nothing else. The loop both run is
:class:`hookpipe.runtime.loop.training_loop.TrainingLoop`.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from typing_extensions import Self

from hookpipe.compiler.plan import Plan
from hookpipe.compiler.settings import check_run_length
from hookpipe.escaping import escape
from hookpipe.runtime.build import PlanParts, load_plan, plan_parts
from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig
from hookpipe.runtime.checkpoints.resume_changes import apply
from hookpipe.runtime.hooks.grad_clip import GradientClippingHookConfig
from hookpipe.runtime.hooks.mixin import PipelineHooks, PipelineHooksConfig
from hookpipe.runtime.hooks.optimizer import OptimizerHookConfig
from hookpipe.runtime.hooks.validation import ValidationHookConfig
from hookpipe.runtime.loop.batch_processor import BatchProcessorMixin
from hookpipe.runtime.loop.training_loop import TrainingLoop, prepare
from hookpipe.runtime.plan.overrides import apply_overrides
from hookpipe.runtime.run_lock import RunLock
from hookpipe.runtime.tracking.profiler import Profiler

__all__ = ["HookBasedTrainer", "PipelineHookOrConfigType"]

_log = logging.getLogger(__name__)

PipelineHookOrConfigType = PipelineHooksConfig | PipelineHooks


class HookBasedTrainer(TrainingLoop):
    """A trainer whose loop is shaped by hooks (the seed's API).

    Args:
        accelerator: The ``Accelerator`` that prepares everything and runs the loop.
        model: The model to train.
        dataloader: Batches for training (a ``DataLoader`` or any iterable).
        batch_processor: Runs forward and backward for one batch.
        optimizer: The optimizer.
        lr_scheduler: The learning-rate scheduler.
        hooks: User hooks (instances or configs), registered after the defaults.
        max_step: Stop after this many steps (batches). One of max_step/max_epoch is required.
        max_epoch: Stop after this many epochs.
        grad_clip: Registers a GradientClippingHook first, if given.
        validation: Registers a ValidationHook after the OptimizerHook, if given.
        resume_from: Restore a checkpoint before training.

    Example:
        >>> trainer = HookBasedTrainer(acc, model, loader, proc, opt, sched, max_epoch=2)  # doctest: +SKIP
        >>> trainer()  # doctest: +SKIP
    """

    #: Per-entry hook times when built with ``profile=True`` (``hookpipe run --profile``).
    profiler: "Profiler | None" = None
    #: What the run says when it starts (where a run writes beside another's): ``hookpipe run``
    #: prints them (:meth:`take_start_notes`); otherwise the first call logs them (see :meth:`__call__`).
    start_notes: tuple[str, ...] = ()
    #: Whether the start notes were said (or taken by a caller that says them itself).
    _notes_said = False
    #: The main process's hold on the folders the run writes (``checkpoints/place_lock.py``), released when it ends.
    _locks: tuple[RunLock, ...] = ()

    def __init__(
        self,
        accelerator: Accelerator,
        model: torch.nn.Module,
        dataloader: DataLoader | Iterable[Any],
        batch_processor: BatchProcessorMixin,
        optimizer: torch.optim.Optimizer,
        lr_scheduler: torch.optim.lr_scheduler.LRScheduler,
        hooks: PipelineHookOrConfigType | Iterable[PipelineHookOrConfigType] | None = None,
        max_step: int | None = None,
        max_epoch: int | None = None,
        grad_clip: GradientClippingHookConfig | None = None,
        validation: ValidationHookConfig | None = None,
        resume_from: ResumeCheckpointConfig | None = None,
    ) -> None:
        check_run_length(max_step, max_epoch)
        user_hooks = PipelineHooks.from_hooks(hooks)
        prepared = prepare(accelerator, model, dataloader, optimizer, lr_scheduler)
        defaults = PipelineHooks()
        if grad_clip is not None:
            defaults += grad_clip()
        defaults += OptimizerHookConfig()()
        if validation is not None:
            defaults += validation()
        defaults += user_hooks
        super().__init__(prepared, batch_processor, defaults, max_step=max_step, max_epoch=max_epoch,
                         resume_from=resume_from)

    @classmethod
    def from_parts(cls, parts: PlanParts) -> Self:
        """The Plan path's constructor: a trainer running ``parts.hooks`` and nothing else.

        The seed's constructor adds default hooks; a Plan already says every hook,
        so this one skips it and builds the loop directly.
        """
        trainer = cls.__new__(cls)
        TrainingLoop.__init__(trainer, parts.prepared, parts.batch_processor, parts.hooks, max_step=parts.max_step,
                              max_epoch=parts.max_epoch, resume_from=parts.resume_from,
                              show_progress=parts.progress)
        trainer.profiler = parts.profiler
        trainer.start_notes = parts.notes
        trainer._locks = parts.locks
        if parts.resume_report is not None:  # the restored optimizer takes the Plan's changed arguments
            apply(parts.resume_report, trainer)
            trainer.resume_report = parts.resume_report
        return trainer

    def take_start_notes(self) -> tuple[str, ...]:
        """The start notes, for a caller that says them in its own words (``hookpipe run``); then not logged."""
        self._notes_said = True
        return self.start_notes

    def __call__(self) -> None:
        """Train (see :meth:`TrainingLoop.__call__`), first saying the start notes nobody said yet.

        A run built from a file by the Python API says where it writes beside another
        run as ``hookpipe run`` does, as a warning of the ``hookpipe.runtime.trainer``
        logger (on the main process). The folders this process holds are released
        when the run ends, however it ends.
        """
        if not self._notes_said:
            self._notes_said = True
            if self.accelerator.is_main_process:
                for note in self.start_notes:
                    _log.warning("%s", escape(note))
        try:
            super().__call__()
        finally:
            for lock in reversed(self._locks):  # the last taken first (see run_lock)
                lock.release()

    @classmethod
    def from_plan(cls, plan: Plan, accelerator: Accelerator | None = None, **overrides: Any) -> Self:
        """A trainer that executes ``plan`` (overrides as in :func:`hookpipe.runtime.build.plan_parts`)."""
        return cls.from_parts(plan_parts(plan, accelerator, **overrides))

    @classmethod
    def from_file(
        cls,
        path: str,
        overrides: Mapping[str, Any] | None = None,
        accelerator: Accelerator | None = None,
        **kwargs: Any,
    ) -> Self:
        """Compile ``path``, apply ``--set``-style ``overrides``, and build the trainer.

        An override's value is a string, read as ``--set`` reads it, or plain data
        (``{"trainer.max_epoch": 1}``).

        Example:
            >>> HookBasedTrainer.from_file("examples/digits/train.pipe", {"trainer.max_epoch": "1"})  # doctest: +SKIP
        """
        plan = apply_overrides(load_plan(path), overrides or {})
        return cls.from_plan(plan, accelerator, **kwargs)
