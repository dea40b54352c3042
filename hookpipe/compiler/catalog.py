"""The built-in hook catalog: one table the compiler reads without torch.

Each entry says what a built-in accepts (a pydantic schema), what it touches
(effects), where it may attach, whether it needs every process (a collective),
and which runtime class implements it. Adding a built-in is one entry here plus
its implementation in ``hookpipe.runtime.hooks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookpipe.compiler.plan import Effects
from hookpipe.compiler.settings import ObjectRef


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class GradClipArgs(_Args):
    """Fields and meanings of the seed's GradientClippingHookConfig."""

    mode: Literal["norm", "value"] = "norm"
    max_norm: float | None = Field(default=None, gt=0)
    clip_value: float | None = Field(default=None, gt=0)
    norm_type: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _limit_matches_mode(self) -> "GradClipArgs":
        if self.mode == "norm" and self.max_norm is None:
            raise ValueError("mode 'norm' needs max_norm")
        if self.mode == "value" and self.clip_value is None:
            raise ValueError("mode 'value' needs clip_value")
        return self


class OptimizerArgs(_Args):
    """The trainer's optimizer and scheduler are used; nothing to configure."""

    set_to_none: bool = True


class ValidationArgs(_Args):
    callback: ObjectRef
    model_eval: bool = True


class CheckpointArgs(_Args):
    dir: str = Field(min_length=1)
    keep_last: int | None = Field(default=None, ge=1)
    safe_serialization: bool = True


class LossLogArgs(_Args):
    window: int = Field(default=50, ge=1)


class ThroughputArgs(_Args):
    window: int = Field(default=50, ge=1)
    progress: bool = True


class NanGuardArgs(_Args):
    max_consecutive: int = Field(default=3, ge=1)
    check_grads: bool = True


@dataclass(frozen=True, slots=True)
class HookType:
    """One built-in hook type."""

    name: str
    schema: type[_Args]
    effects: Effects
    #: Phases it may attach to, as "scope.phase"; "*" allows any.
    phases: tuple[str, ...]
    #: Import path of the runtime implementation (resolved only by the runtime).
    implementation: str
    #: Needs every process (a collective): never ``on main``.
    collective: bool = False
    summary: str = ""

    def allows(self, scope: str, phase: str) -> bool:
        return "*" in self.phases or f"{scope}.{phase}" in self.phases or f"*.{phase}" in self.phases


_CHECKPOINT_PHASES = ("loop.after", "epoch.after", "step.after")

BUILTINS: dict[str, HookType] = {
    h.name: h
    for h in (
        HookType(
            "grad_clip",
            GradClipArgs,
            Effects(writes=("grads",)),
            ("step.after",),
            "hookpipe.runtime.hooks.grad_clip:GradClipHook",
            summary="clip gradients by norm or value before the optimizer step",
        ),
        HookType(
            "optimizer",
            OptimizerArgs,
            Effects(consumes=("grads",), writes=("params", "lr", "optimizer_state")),
            ("step.after",),
            "hookpipe.runtime.hooks.optimizer:OptimizerHook",
            summary="optimizer.step, lr_scheduler.step, zero_grad",
        ),
        HookType(
            "validation",
            ValidationArgs,
            Effects(reads=("params",), writes=("metrics",)),
            ("*",),
            "hookpipe.runtime.hooks.validation:ValidationHook",
            collective=True,
            summary="run the evaluate callback with the model in eval mode",
        ),
        HookType(
            "checkpoint",
            CheckpointArgs,
            Effects(reads=("params", "optimizer_state", "lr", "metrics")),
            _CHECKPOINT_PHASES,
            "hookpipe.runtime.hooks.checkpoint:CheckpointHook",
            collective=True,
            summary="accelerate save_state into an atomic, step-named folder",
        ),
        HookType(
            "loss_log",
            LossLogArgs,
            Effects(reads=("loss",)),
            ("step.after",),
            "hookpipe.runtime.hooks.logging:LossLogHook",
            summary="log the running mean of the loss on the main process",
        ),
        HookType(
            "throughput",
            ThroughputArgs,
            Effects(reads=("time",)),
            ("step.after",),
            "hookpipe.runtime.hooks.logging:ThroughputHook",
            summary="steps per second and a progress bar on the main process",
        ),
        HookType(
            "nan_guard",
            NanGuardArgs,
            Effects(reads=("loss",), writes=("grads",)),
            ("step.after",),
            "hookpipe.runtime.hooks.nan_guard:NanGuardHook",
            summary="skip updates with a non-finite loss or gradient; stop with a checkpoint after N in a row",
        ),
    )
}

#: The standard resources of SPEC section 4; custom names are allowed too.
RESOURCES: tuple[str, ...] = ("grads", "params", "optimizer_state", "lr", "loss", "metrics", "time")
