"""Gradient clipping: the ``grad_clip`` built-in (the seed's ``GradientClippingHook`` wraps it).

Clipping only happens on steps that synchronise gradients: with gradient
accumulation the gradients of a partial window are not final, and clipping them
would change what the optimizer sees.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import torch

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.fastpath import AcceleratePath, fast_path, groups_owner, is_dtensor

__all__ = ["GradClipHook"]


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
        self._optimizer: object = _NO_RUN
        # Set by _prepare, which the first step always runs (no accelerator is _NO_RUN).
        self._gradient_state: Any
        self._groups: Any  # the object whose `param_groups` are the optimizer's (see fastpath.groups_owner)
        self._clip_norm: Callable[..., Any]
        self._clip_value: Callable[..., Any]

    def on_step_end(self, args: PipelineHookArgs) -> None:
        optimizer = args.optimizer
        accelerator = args.accelerator
        if optimizer is not self._optimizer or accelerator is not self._accelerator:  # once per run (see fastpath)
            if optimizer is None:
                raise ValueError("grad_clip needs the optimizer in the hook arguments")
            self._prepare(accelerator, optimizer)
        if not self._gradient_state.sync_gradients:  # accelerator.sync_gradients, without the property
            return
        groups = self._groups.param_groups  # optimizer.param_groups, without the property
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

    def _prepare(self, accelerator: Any, optimizer: Any) -> None:
        """The run's clipping functions (torch's own where the fast path says they are accelerate's)."""
        path = fast_path(accelerator)
        if any(is_dtensor(p) for g in optimizer.param_groups for p in g["params"]):
            path = AcceleratePath(accelerator)  # accelerate's clip handles DTensors
        self._accelerator, self._gradient_state = accelerator, accelerator.gradient_state
        self._optimizer, self._groups = optimizer, groups_owner(optimizer)
        self._clip_norm, self._clip_value = path.clip_grad_norm_, path.clip_grad_value_
