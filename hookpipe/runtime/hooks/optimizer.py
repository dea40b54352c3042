"""The optimizer step: the ``optimizer`` built-in and the seed's OptimizerHook.

The prepared (accelerate) optimizer and scheduler only act on steps that
synchronise gradients, so calling them every step is correct under gradient
accumulation.
"""

from __future__ import annotations

from hookpipe.compiler.catalog import OptimizerArgs
from robo_orchard_core.utils.config import ClassType

from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.pipeline_hooks import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["OptimizerHook", "OptimizerHookConfig"]


class OptimizerHook(PipelineHooks):
    """``optimizer.step()``, ``lr_scheduler.step()``, ``optimizer.zero_grad()`` after a step."""

    effects = {"consumes": ("grads",), "writes": ("params", "lr", "optimizer_state")}

    def __init__(self, cfg: "OptimizerHookConfig | None" = None) -> None:
        super().__init__()
        self.set_to_none = True if cfg is None else cfg.set_to_none
        self.register_hook("on_step", HookContext.from_callable(after=self.on_step_end))

    @classmethod
    def from_plan_args(cls, args: OptimizerArgs) -> "OptimizerHook":
        return cls(OptimizerHookConfig(set_to_none=args.set_to_none))

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if args.optimizer is None:
            raise ValueError("the optimizer hook needs an optimizer in the hook arguments")
        args.optimizer.step()
        if args.lr_scheduler is not None:
            args.lr_scheduler.step()
        args.optimizer.zero_grad(set_to_none=self.set_to_none)


class OptimizerHookConfig(PipelineHooksConfig[OptimizerHook]):
    class_type: ClassType[OptimizerHook] = OptimizerHook
    set_to_none: bool = True
