"""The fields of RoboOrchard Lab's hook configs, shared by compiler and runtime.

``hookpipe.runtime.hooks`` builds each seed config class from one of these models
(``class SaveCheckpointConfig(PipelineHooksConfig[SaveCheckpoint], SaveHookFields)``),
so names, defaults and validation are written once, and the compiler checks a
``.pipe`` file's arguments against the same definitions without importing torch.
They ignore unknown fields, as the seed's configs do; the compiler checks through
:func:`strict`, which refuses them (a typo in a ``.pipe`` file is an error there).
Validation errors say what the seed's ``__post_init__`` says.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookpipe.compiler.settings import ObjectRef

__all__ = [
    "ClearCacheHookFields",
    "GradientClippingHookFields",
    "LossMovingAverageTrackerFields",
    "LossTrackerFields",
    "MetricTrackerFields",
    "SaveHookFields",
    "StatsMonitorFields",
    "ValidationHookFields",
    "strict",
]


#: Schemas are built on first validation, not at import: ``hookpipe lint`` checks a few
#: hook types per file, and building all of them would be a fifth of its start-up.
_DEFERRED = ConfigDict(defer_build=True)


def _at_least_one(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{name} = {value} < 1 is not allowed")


class SaveHookFields(BaseModel):
    """``SaveCheckpointConfig`` and ``SaveModelConfig``."""

    model_config = _DEFERRED

    save_root: str | None = None
    """Where checkpoints go (required unless accelerate names checkpoints itself)."""
    save_epoch_freq: Optional[int] = 1
    """Save when ``(epoch_id + 1) % save_epoch_freq == 0``."""
    save_step_freq: Optional[int] = None
    """Save when ``(global_step_id + 1) % save_step_freq == 0``."""
    save_when_loop_end: bool = True
    """Save once more when the loop ends."""
    save_model: bool = True
    """Also write the model's weights (``model/`` or ``model_<i>/``) into the checkpoint."""

    @model_validator(mode="after")
    def _frequencies(self) -> "SaveHookFields":
        if self.save_epoch_freq is None and self.save_step_freq is None:
            raise ValueError("Either `save_epoch_freq` or `save_step_freq` must be specified. Both cannot be None.")
        _at_least_one("save_epoch_freq", self.save_epoch_freq)
        _at_least_one("save_step_freq", self.save_step_freq)
        return self


class MetricTrackerFields(BaseModel):
    """``MetricTrackerConfig`` (``metric_entrys`` is typed by the runtime class)."""

    model_config = _DEFERRED

    metric_entrys: Any
    """One ``MetricEntry`` or a sequence of them (the seed's spelling)."""
    reset_by: Literal["epoch", "step"] = "epoch"
    """Whether ``reset_freq`` counts epochs or steps."""
    reset_freq: int = 1
    """Reset the metrics every this many epochs or steps."""
    step_log_freq: int = 512
    """Log when ``(step_id + 1) % step_log_freq == 0`` (step in the epoch); 0 turns it off."""
    epoch_log_freq: int = 1
    """Log when ``(epoch_id + 1) % epoch_log_freq == 0``; 0 turns it off."""
    log_main_process_only: bool = True
    """Log on the main process only."""


class StatsMonitorFields(BaseModel):
    """``StatsMonitorConfig``."""

    model_config = _DEFERRED

    batch_size: Optional[int] = None
    """Batch size per process; read from the dataloader when None."""
    steps_per_epoch: Optional[int] = None
    """Steps per epoch; ``len(dataloader)`` when None."""
    step_log_freq: int = 512
    """Log speed and remaining time when ``(global_step_id + 1) % step_log_freq == 0``."""
    epoch_log_freq: int = 1
    """Log the epoch's time when ``(epoch_id + 1) % epoch_log_freq == 0``."""
    window_size: int = 128
    """Steps in the moving window of step times."""


class LossTrackerFields(BaseModel):
    """``LossTrackerConfig``."""

    model_config = _DEFERRED

    step_log_freq: int = Field(ge=1, default=5)
    """Log (and restart the average) when ``(step_id + 1) % step_log_freq == 0``."""
    log_total_loss: bool = False
    """Also log the sum of all losses."""
    moving_average: bool = True
    """Average over the window; when False, keep the last value."""


class LossMovingAverageTrackerFields(LossTrackerFields):
    """``LossMovingAverageTrackerConfig`` (deprecated in the seed): other defaults."""

    step_log_freq: int = Field(ge=1, default=25)
    log_total_loss: bool = True


class ClearCacheHookFields(BaseModel):
    """``ClearCacheHookConfig``."""

    model_config = _DEFERRED

    empty_cache_at: Literal["step", "epoch"] = "epoch"
    """Clear after steps or after epochs."""
    empty_cache_freq: int = 1
    """Every this many steps or epochs."""
    garbage_collection: bool = False
    """Run ``gc.collect()`` first."""


class GradientClippingHookFields(BaseModel):
    """``GradientClippingHookConfig``."""

    model_config = _DEFERRED

    clip_mode: Literal["norm", "value"]
    """``"norm"``: clip the total norm; ``"value"``: clip each value."""
    clip_value: Optional[float] = None
    """The largest absolute value, used when ``clip_mode`` is ``"value"``."""
    max_norm: Optional[float] = None
    """The largest total norm, used when ``clip_mode`` is ``"norm"``."""
    norm_type: float = 2.0
    """The type of norm (2.0: L2)."""

    @model_validator(mode="after")
    def _limit_matches_mode(self) -> "GradientClippingHookFields":
        # The seed allows a limit of 0 (non-negative), unlike the grad_clip built-in (positive).
        limit = self.clip_value if self.clip_mode == "value" else self.max_norm
        if limit is None or limit < 0:
            name = "clip_value" if self.clip_mode == "value" else "max_norm"
            raise ValueError(f"{name} must be specified and non-negative when clip_mode is '{self.clip_mode}'.")
        return self


class ValidationHookFields(BaseModel):
    """``ValidationHookConfig``: the seed's hook decides by its own frequencies when to evaluate."""

    model_config = _DEFERRED

    #: An object reference at compile time (the runtime class types it as a callable), so
    #: ``--set`` cannot name code: the callback is named in the reviewed file.
    eval_callback: ObjectRef
    """The evaluation callback, called as ``eval_callback(model)`` (or bare, without parameters)."""
    step_eval_freq: Optional[int] = None
    """Evaluate after a step when ``(global_step_id + 1) % step_eval_freq == 0``."""
    epoch_eval_freq: Optional[int] = None
    """Evaluate after an epoch when ``(epoch_id + 1) % epoch_eval_freq == 0``."""
    eval_at_begin: bool = False
    """Also evaluate once before training starts (``loop.before``)."""

    @model_validator(mode="after")
    def _frequencies(self) -> "ValidationHookFields":
        if self.step_eval_freq is None and self.epoch_eval_freq is None:
            raise ValueError("Either `step_eval_freq` or `epoch_eval_freq` must be specified.")
        _at_least_one("step_eval_freq", self.step_eval_freq)
        _at_least_one("epoch_eval_freq", self.epoch_eval_freq)
        return self


@cache
def strict(fields: type[BaseModel]) -> type[BaseModel]:
    """``fields`` refusing unknown names: what a ``.pipe`` file's arguments are checked with."""
    return type(fields.__name__, (fields,), {"model_config": ConfigDict(extra="forbid"), "__module__": __name__})
