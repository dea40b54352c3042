"""The built-in hook catalog: one table the compiler reads without torch.

Each entry says what a built-in accepts (a pydantic schema), what it touches
(effects), where it may attach, whether it needs every process (a collective),
and which runtime class implements it. Adding a built-in is one entry here plus
its implementation in ``hookpipe.runtime.hooks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal

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


#: ``hook.key``: a metric that a hook (usually ``validation``) produced, e.g. ``evaluate.accuracy``.
Monitor = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[^.\s][^\s]*$")]
Mode = Literal["min", "max"]


class ValidationArgs(_Args):
    callback: ObjectRef
    model_eval: bool = True
    #: Batches to evaluate, prepared by accelerate (sharded across processes, then gathered).
    dataloader: ObjectRef | None = None
    #: ``"ema"`` evaluates with the pipeline's ``ema`` hook's weights swapped in.
    weights: Literal["model", "ema"] = "model"


class CheckpointArgs(_Args):
    dir: str = Field(min_length=1)
    keep_last: int | None = Field(default=None, ge=1)
    safe_serialization: bool = True
    monitor: Monitor | None = None
    mode: Mode = "min"
    keep_best: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _best_needs_monitor(self) -> "CheckpointArgs":
        if self.keep_best is not None and self.monitor is None:
            raise ValueError("keep_best needs monitor (the metric that ranks checkpoints)")
        return self


class LogArgs(_Args):
    """Everything is logged; what goes where is the trainer's ``log_with``."""


class EmaArgs(_Args):
    decay: float = Field(default=0.999, gt=0, lt=1)
    #: Ramp the decay up as ``min(decay, (1 + n) / (10 + n))`` over the first updates n.
    warmup: bool = True


class EarlyStopArgs(_Args):
    monitor: Monitor
    mode: Mode = "min"
    patience: int = Field(default=3, ge=1)
    min_delta: float = Field(default=0.0, ge=0)


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
    #: Effects that depend on the arguments (JSON values), added to :attr:`effects`.
    argument_effects: Callable[[dict[str, Any]], Effects] | None = None

    def effects_for(self, args: dict[str, Any]) -> Effects:
        """The effects of one declaration of this type."""
        if self.argument_effects is None:
            return self.effects
        extra = self.argument_effects(args)
        return Effects(
            reads=tuple(dict.fromkeys((*self.effects.reads, *extra.reads))),
            writes=tuple(dict.fromkeys((*self.effects.writes, *extra.writes))),
            consumes=tuple(dict.fromkeys((*self.effects.consumes, *extra.consumes))),
        )

    def allows(self, scope: str, phase: str) -> bool:
        return "*" in self.phases or f"{scope}.{phase}" in self.phases or f"*.{phase}" in self.phases


_CHECKPOINT_PHASES = ("loop.after", "epoch.after", "step.after")


def _validation_effects(args: dict[str, Any]) -> Effects:
    # Evaluating the EMA weights reads them, so the graph puts `ema` first.
    return Effects(reads=("ema",)) if args.get("weights") == "ema" else Effects()

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
            argument_effects=_validation_effects,
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
        HookType(
            "log",
            LogArgs,
            Effects(reads=("loss", "lr", "metrics", "time")),
            ("*.after",),
            "hookpipe.runtime.hooks.log:LogHook",
            collective=True,  # the loss is averaged over every process
            summary="loss, learning rates, throughput and metrics to the trackers of trainer.log_with",
        ),
        HookType(
            "ema",
            EmaArgs,
            Effects(reads=("params",), writes=("ema",)),
            ("step.after",),
            "hookpipe.runtime.hooks.ema:EmaHook",
            summary="an exponential moving average of the parameters, updated after each optimizer update",
        ),
        HookType(
            "early_stop",
            EarlyStopArgs,
            Effects(reads=("metrics",)),
            ("*.after",),
            "hookpipe.runtime.hooks.early_stop:EarlyStopHook",
            summary="end the run cleanly when a monitored metric stops improving",
        ),
    )
}

#: The standard resources of SPEC section 4; custom names are allowed too.
RESOURCES: tuple[str, ...] = ("grads", "params", "optimizer_state", "lr", "loss", "metrics", "time", "ema")
