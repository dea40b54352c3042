"""The optimizer step: the ``optimizer`` built-in and the seed's OptimizerHook.

The prepared (accelerate) optimizer only acts on steps that synchronise
gradients, so calling it every step is correct under gradient accumulation.

The scheduler, in the seed's way (accelerate's default,
``step_scheduler_with_optimizer=True``), is stepped by accelerate on those steps
*once per process* (it assumes the schedule counts samples of a single-process
run), so with 2 processes a warmup of 10 updates ends at update 5. A Plan's
Accelerator is made with ``step_scheduler_with_optimizer=False`` instead, and this
hook then steps the scheduler itself exactly once per optimizer update (steps
that synchronise gradients and whose optimizer step was not skipped by the fp16
scaler), whatever the number of processes: a schedule is written in updates
(``total_steps = run.updates``). Without a scaler, DeepSpeed, Megatron or XLA the hook steps the wrapped optimizer
the way accelerate would, without its per-call look-ups
(:func:`hookpipe.runtime.fastpath.optimizer_calls`).
"""

from __future__ import annotations

import logging
from typing import Callable

from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.catalog import BUILTINS, OptimizerArgs
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.fastpath import optimizer_calls
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["OptimizerHook", "OptimizerHookConfig"]

#: The seed's logger name, so log filters and tests that patch it keep working.
logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.optimizer")


def _unset() -> None:
    raise AssertionError("unreachable: set on the first step")


class OptimizerHook(PipelineHooks):
    """``optimizer.step()``, ``lr_scheduler.step()``, ``optimizer.zero_grad()`` after a step."""

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["optimizer"].effects.to_json()

    def __init__(self, cfg: "OptimizerHookConfig | None" = None) -> None:
        super().__init__()
        self.set_to_none = True if cfg is None else cfg.set_to_none
        # optimizer.step / zero_grad as accelerate runs them, decided on first use (see fastpath).
        self._optimizer: object = None
        self._step: Callable[[], None] = _unset
        self._zero_grad: Callable[[], None] = _unset
        self.register_hook("on_step", HookContext.from_callable(after=self._optimizer_step))

    @classmethod
    def from_plan_args(cls, args: OptimizerArgs) -> "OptimizerHook":
        return cls(OptimizerHookConfig(set_to_none=args.set_to_none))

    def _optimizer_step(self, args: PipelineHookArgs) -> None:
        """After a step (the seed's callback name; a Plan calls it as ``on_step_end``)."""
        optimizer = args.optimizer
        if optimizer is not self._optimizer:  # once per run: decide how to step it
            if optimizer is None:
                raise ValueError("the optimizer hook needs an optimizer in the hook arguments")
            self._optimizer = optimizer
            self._step, self._zero_grad = optimizer_calls(optimizer, self.set_to_none)
        self._step()
        scheduler = args.lr_scheduler
        if scheduler is not None:
            if getattr(scheduler, "step_with_optimizer", True):
                scheduler.step()  # the seed's way: accelerate decides (once per process)
            elif args.accelerator.sync_gradients and not getattr(optimizer, "step_was_skipped", False):
                scheduler.step()  # once per optimizer update
        self._zero_grad()


    on_step_end = _optimizer_step

class OptimizerHookConfig(PipelineHooksConfig[OptimizerHook]):
    class_type: ClassType[OptimizerHook] = OptimizerHook
    set_to_none: bool = True
