"""Gradient clipping: the ``grad_clip`` built-in and the seed's GradientClippingHook.

Clipping only happens on steps that synchronise gradients: with gradient
accumulation the gradients of a partial window are not final, and clipping them
would change what the optimizer sees.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import torch
from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.fastpath import fast_path
from hookpipe.runtime.pipeline_hooks import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["GradClipHook", "GradientClippingHook", "GradientClippingHookConfig"]


#: The accelerator before the first step: none is ``is`` it, so the first call prepares.
_NO_RUN = object()


class GradClipHook:
    """Clip the optimizer's gradients by norm or value (built-in ``grad_clip``).

    Args:
        mode: ``"norm"`` (needs ``max_norm``) or ``"value"`` (needs ``clip_value``).
        max_norm: Largest total gradient norm allowed.
        clip_value: Largest absolute gradient value allowed.
        norm_type: The p of the p-norm.
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["grad_clip"].effects.to_json()

    def __init__(
        self,
        mode: Literal["norm", "value"] = "norm",
        max_norm: float | None = None,
        clip_value: float | None = None,
        norm_type: float = 2.0,
    ) -> None:
        if mode == "norm" and (max_norm is None or max_norm < 0):
            raise ValueError("max_norm must be a non-negative number when clip mode is 'norm'")
        if mode == "value" and (clip_value is None or clip_value < 0):
            raise ValueError("clip_value must be a non-negative number when clip mode is 'value'")
        self.mode = mode
        self.max_norm = max_norm
        self.clip_value = clip_value
        self.norm_type = norm_type
        #: Total gradient norm before the last clip by norm (a tensor), for loggers.
        self.last_norm: torch.Tensor | None = None
        self._accelerator: object = _NO_RUN
        # Set by _prepare, which the first step always runs (no accelerator is _NO_RUN).
        self._gradient_state: Any
        self._clip_norm: Callable[..., Any]
        self._clip_value: Callable[..., Any]

    def on_step_end(self, args: PipelineHookArgs) -> None:
        optimizer = args.optimizer
        if optimizer is None:
            raise ValueError("grad_clip needs the optimizer in the hook arguments")
        accelerator = args.accelerator
        if accelerator is not self._accelerator:  # once per run (see fastpath)
            self._prepare(accelerator)
        if not self._gradient_state.sync_gradients:  # accelerator.sync_gradients, without the property
            return
        groups = optimizer.param_groups
        # The optimizer's parameters as they stand (groups may be added mid-run). The
        # clip leaves out those without a gradient, as the optimizer does, so neither
        # a copy of the list nor a filter is needed: both cost a step time in
        # proportion to the model's tensors.
        params = groups[0]["params"] if len(groups) == 1 else [p for g in groups for p in g["params"]]
        if not params:
            return
        if self.mode == "value":
            self._clip_value(params, self.clip_value)
        else:
            self.last_norm = self._clip_norm(params, self.max_norm, self.norm_type)

    def _prepare(self, accelerator: Any) -> None:
        """The run's clipping functions (torch's own where the fast path says they are accelerate's)."""
        path = fast_path(accelerator)
        self._accelerator, self._gradient_state = accelerator, accelerator.gradient_state
        self._clip_norm, self._clip_value = path.clip_grad_norm_, path.clip_grad_value_


class GradientClippingHook(PipelineHooks):
    """The seed's clipping hook: :class:`GradClipHook` registered on ``on_step`` after.

    Register it before the optimizer hook (the trainer does, for ``grad_clip=``).
    """

    def __init__(self, cfg: "GradientClippingHookConfig") -> None:
        super().__init__()
        self.clip = GradClipHook(cfg.clip_mode, cfg.max_norm, cfg.clip_value, cfg.norm_type)
        self.register_hook("on_step", HookContext.from_callable(after=self.clip.on_step_end))

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


class GradientClippingHookConfig(PipelineHooksConfig[GradientClippingHook]):
    """Configuration of :class:`GradientClippingHook` (the seed's fields)."""

    class_type: ClassType[GradientClippingHook] = GradientClippingHook
    clip_mode: Literal["norm", "value"]
    """``"norm"``: clip the total norm; ``"value"``: clip each value."""
    clip_value: float | None = None
    """The largest absolute value, used when ``clip_mode`` is ``"value"``."""
    max_norm: float | None = None
    """The largest total norm, used when ``clip_mode`` is ``"norm"``."""
    norm_type: float = 2.0
    """The type of norm (2.0: L2)."""

    def __post_init__(self) -> None:
        if self.clip_mode == "value" and (self.clip_value is None or self.clip_value < 0):
            raise ValueError("clip_value must be specified and non-negative when clip_mode is 'value'.")
        if self.clip_mode == "norm" and (self.max_norm is None or self.max_norm < 0):
            raise ValueError("max_norm must be specified and non-negative when clip_mode is 'norm'.")
