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

from hookpipe.compiler.loop import VALIDATION, split_validation_scope
from hookpipe.compiler.plan import Effects
from hookpipe.compiler.seed_fields import (
    ClearCacheHookFields,
    GradientClippingHookFields,
    LossMovingAverageTrackerFields,
    LossTrackerFields,
    MetricTrackerFields,
    SaveHookFields,
    StatsMonitorFields,
    ValidationHookFields,
    strict,
)
from hookpipe.compiler.settings import ObjectRef


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True, defer_build=True)


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
    #: ``"model"``: the training weights. Otherwise the name of a hook that provides
    #: averaged weights (``ema``, ``swa`` or a custom one), swapped in for the evaluation
    #: as ``ema_swap`` does; ``"ema"`` with no hook of that name is the pipeline's one
    #: ``ema`` hook.
    weights: str = Field(default="model", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class CheckpointArgs(_Args):
    dir: str = Field(min_length=1)
    keep_last: int | None = Field(default=None, ge=1)
    safe_serialization: bool = True
    monitor: Monitor | None = None
    mode: Mode = "min"
    keep_best: int | None = Field(default=None, ge=1)
    #: Write in a background thread; the loop waits only for a host copy of the state.
    asynchronous: bool = True

    @model_validator(mode="after")
    def _best_needs_monitor(self) -> "CheckpointArgs":
        if self.keep_best is not None and self.monitor is None:
            raise ValueError("keep_best needs monitor (the metric that ranks checkpoints)")
        return self


class LogArgs(_Args):
    """Everything is logged; what goes where is the trainer's ``log_with``."""


class EmaArgs(_Args):
    decay: float = Field(default=0.999, gt=0, lt=1)
    #: Ramp the decay up as ``min(decay, (1 + n) / (10 + n))`` over the first updates n
    #: (default: on, unless ``momentum`` chooses another ramp).
    warmup: bool | None = None
    #: Average floating-point buffers (batch-norm statistics) too; other buffers are copied.
    buffers: bool = False
    #: MMEngine's momentum ramps of the update weight ``m`` (``1 - decay`` once ramped):
    #: ``"exp"`` is ``ExpMomentumEMA`` (``(1 - m0) * exp(-(1 + n) / gamma) + m0``),
    #: ``"linear"`` is ``MomentumAnnealingEMA`` (``max(m0, gamma / (gamma + n))``).
    momentum: Literal["exp", "linear"] | None = None
    gamma: int = Field(default=2000, ge=1)

    @model_validator(mode="after")
    def _one_ramp(self) -> "EmaArgs":
        if self.warmup and self.momentum is not None:
            raise ValueError("warmup and momentum are two ramps of the decay: choose one")
        return self


class SwaArgs(_Args):
    """``swa``'s arguments. It runs with no trainer ``lr_scheduler`` (HP003): from ``start`` SWALR sets the lr."""

    #: The first epoch (1-based, as frequencies count) whose end is averaged.
    start: int = Field(ge=1)
    #: The SWA learning rate SWALR anneals to.
    lr: float = Field(gt=0)
    anneal_epochs: int = Field(default=10, ge=0)
    anneal_strategy: Literal["cos", "linear"] = "cos"


class EmaSwapArgs(_Args):
    #: The hook whose averaged weights are swapped in (``ema``, ``swa`` or a custom provider).
    source: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class EarlyStopArgs(_Args):
    monitor: Monitor
    mode: Mode = "min"
    patience: int = Field(default=3, ge=1)
    min_delta: float = Field(default=0.0, ge=0)


class LrPlateauArgs(_Args):
    """``torch.optim.lr_scheduler.ReduceLROnPlateau``'s arguments, plus the metric it steps on."""

    monitor: Monitor
    mode: Mode = "min"
    factor: float = Field(default=0.1, gt=0, lt=1)
    patience: int = Field(default=10, ge=0)
    threshold: float = Field(default=1e-4, ge=0)
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: int = Field(default=0, ge=0)
    min_lr: float = Field(default=0.0, ge=0)
    eps: float = Field(default=1e-8, ge=0)


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
    schema: type[BaseModel]
    effects: Effects
    #: Phases it may attach to, as "scope.phase"; "*" allows any.
    phases: tuple[str, ...]
    #: Import path of the runtime implementation (resolved only by the runtime).
    implementation: str
    #: Needs every process (a collective): never ``on main``.
    collective: bool = False
    summary: str = ""
    #: Writes a checkpoint (HP108 compares it with the metrics writers).
    saves_checkpoint: bool = False
    #: A RoboOrchard-style config class named by its import path (``implementation``),
    #: not a built-in name: the Plan records it as a class hook.
    seed_class: bool = False
    #: Arguments that count steps, as ``{phase key: argument}``: the hook fires in that
    #: phase only when ``(global_step_id + 1) % value == 0`` (HP102, HP108 read it).
    step_frequency: tuple[tuple[str, str], ...] = ()
    #: Effects that depend on the arguments (JSON values), added to :attr:`effects`.
    argument_effects: Callable[[dict[str, Any]], Effects] | None = None
    #: Acts only on steps that end with an optimizer update: under gradient accumulation
    #: its callback runs on every step but returns at once on the others (accelerate's
    #: ``sync_gradients``). ``explain --steps`` shows it on update steps only.
    update_only: bool = False
    #: A bracket hook (``with NAME { ... }``): enter and exit callbacks around attachments.
    bracket: bool = False
    #: For a hook that registers its own callbacks (a seed class): the phases where they act,
    #: given the arguments (JSON values, defaults filled in); None: all of :attr:`phases`.
    #: HP112 warns where one of those is not attached.
    acting_phases: Callable[[dict[str, Any]], tuple[str, ...]] | None = None
    #: Phases whose own callback fails unless the callbacks of other phases ran first, as
    #: ``((phase, (needed phase, ...)), ...)``: ``StatsMonitor`` after a step asserts that its
    #: ``loop.before`` callback started the clock. Attached there without them is HP006
    #: (the run would stop at the first step); a phase merely missing is HP112's warning.
    needs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: What the failing callback says (quoted in HP006), e.g. "Please call `on_loop_begin` first.".
    needs_failure: str = ""

    def phases_acting(self, args: dict[str, Any]) -> tuple[str, ...]:
        """The phases where this hook's own callbacks do something, with ``args``."""
        return self.phases if self.acting_phases is None else self.acting_phases(args)

    def effects_for(self, args: dict[str, Any]) -> Effects:
        """The effects of one declaration of this type."""
        if self.argument_effects is None:
            return self.effects
        extra = self.argument_effects(args)
        return Effects.union(self.effects, extra)

    def allows(self, scope: str, phase: str) -> bool:
        """Whether an attachment in ``scope.phase`` runs: ``*`` is any phase, ``*.after`` any scope's ``after``.

        A validation run's batches (``validation[NAME].batch``) are not "any scope"
        for ``*.after``: the hooks listed so (``log``, ``early_stop``,
        ``lr_plateau``) act on a finished validation's metrics, which exist in the
        run's ``after`` (``on_validation_end``), not after each of its batches.
        """
        if "*" in self.phases or f"{scope}.{phase}" in self.phases:
            return True
        inner = split_validation_scope(scope)
        return f"*.{phase}" in self.phases and (inner is None or inner[1] == VALIDATION)


_CHECKPOINT_PHASES = ("loop.after", "epoch.after", "step.after")


def _validation_effects(args: dict[str, Any]) -> Effects:
    # Evaluating averaged weights reads them, so the graph puts their writer first.
    return Effects(reads=("ema",)) if args.get("weights", "model") != "model" else Effects()

BUILTINS: dict[str, HookType] = {
    h.name: h
    for h in (
        HookType(
            "grad_clip",
            GradClipArgs,
            Effects(writes=("grads",)),
            ("step.after",),
            "hookpipe.runtime.builtins.grad_clip:GradClipHook",
            summary="clip gradients by norm or value before the optimizer step",
            update_only=True,
        ),
        HookType(
            "optimizer",
            OptimizerArgs,
            Effects(consumes=("grads",), writes=("params", "lr", "optimizer_state")),
            ("step.after",),
            "hookpipe.runtime.hooks.optimizer:OptimizerHook",
            summary="optimizer.step, lr_scheduler.step, zero_grad",
            update_only=True,  # accelerate's optimizer steps and zeroes only when gradients sync
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
            "hookpipe.runtime.builtins.checkpoint:CheckpointHook",
            collective=True,
            saves_checkpoint=True,
            summary="accelerate save_state into an atomic, step-named folder",
        ),
        HookType(
            "loss_log",
            LossLogArgs,
            Effects(reads=("loss",)),
            ("step.after",),
            "hookpipe.runtime.builtins.logging:LossLogHook",
            summary="log the running mean of the loss on the main process",
        ),
        HookType(
            "throughput",
            ThroughputArgs,
            Effects(reads=("time",)),
            ("step.after",),
            "hookpipe.runtime.builtins.logging:ThroughputHook",
            summary="steps per second and a progress bar on the main process",
        ),
        HookType(
            "nan_guard",
            NanGuardArgs,
            Effects(reads=("loss",), writes=("grads",)),
            ("step.after",),
            "hookpipe.runtime.builtins.nan_guard:NanGuardHook",
            summary="skip updates with a non-finite loss or gradient; stop with a checkpoint after N in a row",
        ),
        HookType(
            "log",
            LogArgs,
            Effects(reads=("loss", "lr", "metrics", "time")),
            ("*.after",),
            "hookpipe.runtime.builtins.log:LogHook",
            collective=True,  # the loss is averaged over every process
            summary="loss, learning rates, throughput and metrics to the trackers of trainer.log_with",
        ),
        HookType(
            "ema",
            EmaArgs,
            Effects(reads=("params",), writes=("ema",)),
            ("step.after",),
            "hookpipe.runtime.builtins.ema:EmaHook",
            summary="an exponential moving average of the parameters, updated after each optimizer update",
            update_only=True,
        ),
        HookType(
            "swa",
            SwaArgs,
            Effects(reads=("params",), writes=("ema", "lr")),
            ("epoch.after", "loop.after"),
            "hookpipe.runtime.builtins.swa:SwaHook",
            summary="stochastic weight averaging with torch.optim.swa_utils: the average of the weights at each "
                    "epoch's end from `start`, SWALR, update_bn at the end",
        ),
        HookType(
            "ema_swap",
            EmaSwapArgs,
            # The writes hold only inside the bracket (restored on exit): see compiler.scopes.
            Effects(reads=("ema",), writes=("params",)),
            ("*",),
            "hookpipe.runtime.builtins.ema_swap:EmaSwapHook",
            summary="a bracket: the averaged weights of `source` in the model inside `with NAME { }`, "
                    "the training weights back after",
            bracket=True,
        ),
        HookType(
            "early_stop",
            EarlyStopArgs,
            Effects(reads=("metrics",)),
            ("*.after",),
            "hookpipe.runtime.builtins.early_stop:EarlyStopHook",
            summary="end the run cleanly when a monitored metric stops improving",
        ),
        HookType(
            "lr_plateau",
            LrPlateauArgs,
            Effects(reads=("metrics",), writes=("lr",)),
            ("*.after",),
            "hookpipe.runtime.builtins.lr_plateau:LrPlateauHook",
            summary="lower the learning rate when a monitored metric stops improving (ReduceLROnPlateau)",
        ),
    )
}

#: The standard resources (docs/reference.md, "Effects"); custom names are allowed too.
RESOURCES: tuple[str, ...] = ("grads", "params", "optimizer_state", "lr", "loss", "metrics", "time", "ema")


def _seed(
    name: str,
    fields: type[BaseModel],
    effects: Effects,
    phases: tuple[str, ...],
    module: str,
    summary: str,
    **kw: Any,
) -> HookType:
    return HookType(name, strict(fields), effects, phases, f"hookpipe.runtime.hooks.{module}:{name}Config",
                    summary=summary, seed_class=True, **kw)


_SAVE_READS = Effects(reads=("params", "optimizer_state", "lr", "metrics"))


def _switched(*pairs: tuple[str, str]) -> Callable[[dict[str, Any]], tuple[str, ...]]:
    """The phases whose argument is set (not None, False or 0): a seed hook's callback there returns at once else."""
    return lambda args: tuple(phase for phase, arg in pairs if args.get(arg))


def _clear_cache_phases(args: dict[str, Any]) -> tuple[str, ...]:
    return (f"{args.get('empty_cache_at', 'epoch')}.after",)


_SAVE_PHASES = _switched(("step.after", "save_step_freq"), ("epoch.after", "save_epoch_freq"),
                         ("loop.after", "save_when_loop_end"))
#: The channels the seed's ValidationHook registers on: on_loop before, on_step and on_epoch after.
_VALIDATION_PHASES = ("loop.before", "step.after", "epoch.after")

#: RoboOrchard Lab's hooks (``robo_orchard_lab.pipeline.hooks`` 0.4.0), as hook types a
#: ``.pipe`` file names by the import path of their config class. Each registers its
#: callbacks on the channels its ``phases`` list; attach it in those phases.
SEED_HOOK_TYPES: tuple[HookType, ...] = (
    _seed("SaveCheckpoint", SaveHookFields, _SAVE_READS, _CHECKPOINT_PHASES, "checkpoint",
          "the seed's checkpoint: accelerate save_state into save_root, plus the model's weights",
          collective=True, saves_checkpoint=True,
          step_frequency=(("step.after", "save_step_freq"),), acting_phases=_SAVE_PHASES),
    _seed("SaveModel", SaveHookFields, Effects(reads=("params",)), _CHECKPOINT_PHASES, "checkpoint",
          "the seed's model export: save_root/model_epoch_E_step_S/<i>/ on the main process",
          collective=True, step_frequency=(("step.after", "save_step_freq"),), acting_phases=_SAVE_PHASES),
    _seed("MetricTracker", MetricTrackerFields, Effects(reads=("loss",), writes=("metrics",)),
          ("loop.before", "batch.after", "step.after", "epoch.after"), "metric",
          "update metric entries after each batch, log and reset them by step or epoch", collective=True),
    # Its step and epoch callbacks assert that on_loop_begin (and on_epoch_begin) ran.
    _seed("StatsMonitor", StatsMonitorFields, Effects(reads=("time", "lr")),
          ("loop.before", "step.after", "epoch.before", "epoch.after"), "stats",
          "training speed, remaining time and learning rates, logged on the main process",
          needs=(("step.after", ("loop.before",)), ("epoch.after", ("loop.before", "epoch.before"))),
          needs_failure="AssertionError: Please call `on_loop_begin` first."),
    _seed("LossTracker", LossTrackerFields, Effects(reads=("loss",)), ("step.after",), "loss_tracker",
          "losses averaged across processes and over a window, logged on the main process", collective=True),
    _seed("LossMovingAverageTracker", LossMovingAverageTrackerFields, Effects(reads=("loss",)), ("step.after",),
          "loss_tracker", "LossTracker with the deprecated class's defaults", collective=True),
    _seed("ClearCacheHook", ClearCacheHookFields, Effects(), ("step.after", "epoch.after"), "memory",
          "release cached device memory every N steps or epochs", acting_phases=_clear_cache_phases),
    # The same clip as the grad_clip built-in (its effects too: it writes the gradients the
    # optimizer consumes, so HP005 puts it first), on the seed's on_step after.
    _seed("GradientClippingHook", GradientClippingHookFields, BUILTINS["grad_clip"].effects, ("step.after",),
          "grad_clip", "the seed's gradient clipping (the grad_clip built-in's clip) before the optimizer step",
          update_only=True),
    # Registers on_loop before (eval_at_begin), on_step and on_epoch after, and evaluates by its
    # own frequencies there; it calls eval_callback(model), where the built-in passes the hook args.
    _seed("ValidationHook", ValidationHookFields, BUILTINS["validation"].effects, _VALIDATION_PHASES, "validation",
          "the seed's validation: eval_callback(model) every step_eval_freq steps / epoch_eval_freq epochs",
          collective=True, step_frequency=(("step.after", "step_eval_freq"),),
          acting_phases=_switched(("loop.before", "eval_at_begin"), ("step.after", "step_eval_freq"),
                                  ("epoch.after", "epoch_eval_freq"))),
)

#: The seed hook types by every import path that names their config class.
SEED_HOOKS: dict[str, HookType] = {
    f"{package}.{h.name}Config": h
    for h in SEED_HOOK_TYPES
    for package in ("hookpipe.runtime", "hookpipe.runtime.hooks", h.implementation.split(":")[0])
}


def seed_hook_type(path: str) -> HookType | None:
    """The seed hook type an import path (``pkg.mod.Cls`` or ``pkg.mod:Cls``) names, if any."""
    return SEED_HOOKS.get(path.replace(":", "."))


#: Every name ``hookpipe.runtime`` exports (its ``__all__``) and its submodules: what a quoted
#: ``"hookpipe.runtime.NAME"`` may name, known without importing the runtime (which imports
#: torch). ``tests/test_trial_check_run_catalog.py`` holds these equal to the packages.
RUNTIME_EXPORTS: frozenset[str] = frozenset({
    "BatchProcessorFromCallable", "BatchProcessorMixin", "ClearCacheHook", "ClearCacheHookConfig",
    "GradientClippingHook", "GradientClippingHookConfig", "HookBasedTrainer", "HookContext", "HookFailure",
    "HookpipeRuntimeError", "LossMovingAverageTracker", "LossMovingAverageTrackerConfig", "LossNotProvidedError",
    "LossTracker", "LossTrackerConfig", "MetricEntry", "MetricTracker", "MetricTrackerConfig", "ModelOutput",
    "ModelOutputHasLossKeys", "OptimizerHook", "OptimizerHookConfig", "PipelineHookArgs", "PipelineHookChanelType",
    "PipelineHookOrConfigType", "PipelineHooks", "PipelineHooksConfig", "PlanResolveError",
    "ResumeCheckpointConfig", "RunFailure", "SaveCheckpoint", "SaveCheckpointConfig", "SaveModel",
    "SaveModelConfig", "ScopeFailure", "SimpleBatchProcessor", "SimpleTrainer", "StatsMonitor",
    "StatsMonitorConfig", "ValidationHook", "ValidationHookConfig", "always", "exit_process",
})
RUNTIME_MODULES: frozenset[str] = frozenset({
    "args", "build", "builtins", "checkpoints", "dispatch", "distributed", "errors", "fastpath", "hooks", "loop",
    "plan", "run", "run_context", "run_lock", "seed_logs", "simple_trainer", "tracking", "trainer",
})
#: ``hookpipe.runtime.hooks``' exports (its ``__all__``).
HOOKS_EXPORTS: frozenset[str] = frozenset({
    "ClassType", "ClearCacheHook", "ClearCacheHookConfig", "GradientClippingHook", "GradientClippingHookConfig",
    "HookContext", "LossMovingAverageTracker", "LossMovingAverageTrackerConfig", "LossTracker", "LossTrackerConfig",
    "MetricEntry", "MetricTracker", "MetricTrackerConfig", "ModelOutput", "ModelOutputHasLossKeys", "OptimizerHook",
    "OptimizerHookConfig", "PipelineHookArgs", "PipelineHookChanelType", "PipelineHooks", "PipelineHooksConfig",
    "SaveCheckpoint", "SaveCheckpointConfig", "SaveModel", "SaveModelConfig", "StatsMonitor", "StatsMonitorConfig",
    "ValidationHook", "ValidationHookConfig",
})
#: ``hookpipe.runtime.hooks``' modules, each with the config classes (``...Config``) it holds: a
#: ``"hookpipe.runtime.hooks.MODULE.NAMEConfig"`` is judged against these (other names there are not).
HOOKS_MODULE_CONFIGS: dict[str, frozenset[str]] = {
    "checkpoint": frozenset({"PipelineHooksConfig", "SaveCheckpointConfig", "SaveModelConfig"}),
    "grad_clip": frozenset({"GradientClippingHookConfig", "PipelineHooksConfig"}),
    "loss_tracker": frozenset({"LossMovingAverageTrackerConfig", "LossTrackerConfig", "PipelineHooksConfig"}),
    "memory": frozenset({"ClearCacheHookConfig", "PipelineHooksConfig"}),
    "metric": frozenset({"MetricTrackerConfig", "PipelineHooksConfig"}),
    "mixin": frozenset({"ClassConfig", "PipelineHooksConfig"}),
    "optimizer": frozenset({"OptimizerHookConfig", "PipelineHooksConfig"}),
    "stats": frozenset({"PipelineHooksConfig", "StatsMonitorConfig"}),
    "validation": frozenset({"PipelineHooksConfig", "ValidationHookConfig"}),
}

_RUNTIME = "hookpipe.runtime"


def unknown_runtime_name(path: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``(package, name, its known names)`` when ``path`` names, under ``hookpipe.runtime``, what is not there.

    Judged without importing anything, where the names are known: what
    ``hookpipe.runtime`` and ``hookpipe.runtime.hooks`` hold (exports and submodules),
    and the config classes of ``hookpipe.runtime.hooks``' modules. A path into another
    of the runtime's modules (``hookpipe.runtime.builtins...``) is not judged here
    (``check --resolve`` and ``run`` import it).

    Example:
        >>> unknown_runtime_name("hookpipe.runtime.GradientClipingHookConfig")[:2]
        ('hookpipe.runtime', 'GradientClipingHookConfig')
        >>> unknown_runtime_name("hookpipe.runtime.hooks.grad_clip:GradientClippingHookConfig") is None
        True
    """
    dotted = path.replace(":", ".")
    if not dotted.startswith(_RUNTIME + "."):
        return None
    parts = dotted[len(_RUNTIME) + 1:].split(".")
    if parts[0] != "hooks":
        known = RUNTIME_EXPORTS | RUNTIME_MODULES
        return None if parts[0] in known else (_RUNTIME, parts[0], tuple(sorted(known)))
    if len(parts) == 1:
        return None
    package = f"{_RUNTIME}.hooks"
    if parts[1] not in HOOKS_EXPORTS and parts[1] not in HOOKS_MODULE_CONFIGS:
        return package, parts[1], tuple(sorted(HOOKS_EXPORTS | set(HOOKS_MODULE_CONFIGS)))
    configs = HOOKS_MODULE_CONFIGS.get(parts[1])
    if configs is None or len(parts) < 3 or not parts[2].endswith("Config") or parts[2] in configs:
        return None
    return f"{package}.{parts[1]}", parts[2], tuple(sorted(configs))
