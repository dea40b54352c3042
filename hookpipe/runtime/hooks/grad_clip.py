"""RoboOrchard Lab's ``pipeline.hooks.grad_clip``: ``GradientClippingHook`` and its config.

The clipping itself is the ``grad_clip`` built-in's (:class:`~hookpipe.runtime.builtins.grad_clip.GradClipHook`).
"""

from __future__ import annotations

import logging
from typing import Literal

from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.seed_fields import GradientClippingHookFields
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.builtins.grad_clip import GradClipHook
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["GradientClippingHook", "GradientClippingHookConfig"]

#: The seed's logger name, so log filters and tests that patch it keep working.
logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.grad_clip")


class GradientClippingHook(PipelineHooks):
    """The seed's clipping hook: :class:`GradClipHook` registered on ``on_step`` after.

    Register it before the optimizer hook (the trainer does, for ``grad_clip=``).
    """

    def __init__(self, cfg: "GradientClippingHookConfig") -> None:
        super().__init__()
        self.clip = GradClipHook(cfg.clip_mode, cfg.max_norm, cfg.clip_value, cfg.norm_type)
        self.register_hook("on_step", HookContext.from_callable(after=self._gradient_clipping))

    def _gradient_clipping(self, hook_args: PipelineHookArgs) -> None:
        """The seed's callback name (``print(trainer.hooks)`` shows it): the clipper's step end."""
        self.clip.on_step_end(hook_args)

    # The seed's public attributes, read from (and written to) the clipper that runs.
    @property
    def clip_mode(self) -> Literal["norm", "value"]:
        return self.clip.mode

    @clip_mode.setter
    def clip_mode(self, value: Literal["norm", "value"]) -> None:
        self.clip.mode = value

    @property
    def clip_value(self) -> float | None:
        return self.clip.clip_value

    @clip_value.setter
    def clip_value(self, value: float | None) -> None:
        self.clip.clip_value = value

    @property
    def max_norm(self) -> float | None:
        return self.clip.max_norm

    @max_norm.setter
    def max_norm(self, value: float | None) -> None:
        self.clip.max_norm = value

    @property
    def norm_type(self) -> float:
        return self.clip.norm_type

    @norm_type.setter
    def norm_type(self, value: float) -> None:
        self.clip.norm_type = value


class GradientClippingHookConfig(PipelineHooksConfig[GradientClippingHook], GradientClippingHookFields):
    """Configuration of :class:`GradientClippingHook`.

    Fields: :class:`~hookpipe.compiler.seed_fields.GradientClippingHookFields`, with which the compiler
    checks a ``.pipe`` file's.
    """

    class_type: ClassType[GradientClippingHook] = GradientClippingHook
