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
(:func:`hookpipe.runtime.fastpath.plain_optimizer`), in this hook's own call: on a
small model's step every further Python function shows in the step's time.
"""

from __future__ import annotations

import logging
from typing import Any

from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.catalog import BUILTINS, OptimizerArgs
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.fastpath import plain_optimizer
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["OptimizerHook", "OptimizerHookConfig"]

#: The seed's logger name, so log filters and tests that patch it keep working.
logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.optimizer")


class OptimizerHook(PipelineHooks):
    """``optimizer.step()``, ``lr_scheduler.step()``, ``optimizer.zero_grad()`` after a step."""

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["optimizer"].effects.to_json()

    def __init__(self, cfg: "OptimizerHookConfig | None" = None) -> None:
        super().__init__()
        self.set_to_none = True if cfg is None else cfg.set_to_none
        # How to step the optimizer as accelerate would, decided on first use (see fastpath):
        # the wrapped optimizer and the gradient state it obeys, or None (its own methods).
        self._optimizer: object = None
        self._inner: Any = None
        self._gradient_state: Any = None
        self.register_hook("on_step", HookContext.from_callable(after=self._optimizer_step))

    @classmethod
    def from_plan_args(cls, args: OptimizerArgs) -> "OptimizerHook":
        return cls(OptimizerHookConfig(set_to_none=args.set_to_none))

    def _optimizer_step(self, args: PipelineHookArgs) -> None:
        """After a step (the seed's callback name; a Plan calls it as ``on_step_end``)."""
        optimizer: Any = args.optimizer
        if optimizer is not self._optimizer:  # once per run: decide how to step it
            if optimizer is None:
                raise ValueError("the optimizer hook needs an optimizer in the hook arguments")
            self._optimizer = optimizer
            self._inner = plain_optimizer(optimizer)
            self._gradient_state = optimizer.gradient_state if self._inner is not None else None
        inner, state = self._inner, self._gradient_state
        if inner is None:
            optimizer.step()
        elif state.sync_gradients:  # AcceleratedOptimizer.step, as plain_optimizer says
            inner.step()  # looked up each call: LR schedulers re-wrap `step`
        scheduler = args.lr_scheduler
        if scheduler is not None:
            if getattr(scheduler, "step_with_optimizer", True):
                scheduler.step()  # the seed's way: accelerate decides (once per process)
            elif args.accelerator.sync_gradients and not getattr(optimizer, "step_was_skipped", False):
                scheduler.step()  # once per optimizer update
        if inner is None:
            optimizer.zero_grad(set_to_none=self.set_to_none)
        elif state.sync_gradients:
            inner.zero_grad(set_to_none=self.set_to_none)


    on_step_end = _optimizer_step

class OptimizerHookConfig(PipelineHooksConfig[OptimizerHook]):
    class_type: ClassType[OptimizerHook] = OptimizerHook
    set_to_none: bool = True
