"""``MetricEntry`` / ``MetricTracker``: RoboOrchard Lab's metric hook.

A tracker holds metric objects with ``update``/``compute``/``reset``/``to``
(torchmetrics metrics fit). Subclasses implement :meth:`MetricTracker.update_metric`;
the tracker calls it after every batch, logs ``name[value]`` pairs every
``step_log_freq`` steps of an epoch and every ``epoch_log_freq`` epochs, and resets
the metrics every ``reset_freq`` steps or epochs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.seed_fields import MetricTrackerFields
from hookpipe.runtime.args import ModelOutput, PipelineHookArgs
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["MetricEntry", "MetricProtocol", "MetricTracker", "MetricTrackerConfig", "as_sequence"]

logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.metric")


@runtime_checkable
class MetricProtocol(Protocol):
    """What a tracked metric provides (torchmetrics' ``Metric`` does)."""

    def reset(self, **kwargs: Any) -> Any: ...

    def compute(self) -> Any: ...

    def update(self, *args: Any, **kwargs: Any) -> Any: ...

    def to(self, *args: Any, **kwargs: Any) -> Any: ...


def as_sequence(value: Any) -> list[Any]:
    """``value`` as a list: None is empty, a list or tuple is itself, anything else one item."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass
class MetricEntry:
    """A metric and the name(s) of the value(s) its ``compute()`` returns."""

    names: Sequence[str] | str
    metric: MetricProtocol

    def __post_init__(self) -> None:
        self.names: Sequence[str] = as_sequence(self.names)

    def get(self) -> Iterable[tuple[str, Any]]:
        """``(name, value)`` pairs of the metric's current value."""
        values = as_sequence(self.metric.compute())
        if len(self.names) != len(values):
            raise AssertionError(
                f"The length of names and metric values should be the same, but get {len(self.names)} vs. {len(values)}"
            )
        return zip(self.names, values, strict=False)


class MetricTracker(PipelineHooks):
    """Update, log and reset metrics (subclass it and implement :meth:`update_metric`)."""

    def __init__(self, cfg: "MetricTrackerConfig") -> None:
        super().__init__()
        self.metric_entrys: Sequence[MetricEntry] = as_sequence(cfg.metric_entrys)
        self.metrics = [entry.metric for entry in self.metric_entrys]
        self.reset_by = cfg.reset_by
        self.reset_freq = cfg.reset_freq
        self.step_log_freq = cfg.step_log_freq
        self.epoch_log_freq = cfg.epoch_log_freq
        self.log_main_process_only = cfg.log_main_process_only
        self._reset()
        self._placed = False  # the metrics moved to the accelerator's device (see _on_batch_end)
        self.register_hook("on_loop", HookContext.from_callable(before=self._on_loop_begin))
        self.register_hook("on_batch", HookContext.from_callable(after=self._on_batch_end))
        self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))
        self.register_hook("on_epoch", HookContext.from_callable(after=self._on_epoch_end))

    def update_metric(self, batch: Any, model_outputs: ModelOutput) -> None:
        """Update ``self.metrics`` from one batch and the model's outputs (subclasses implement it)."""

    def _reset(self) -> None:
        for metric in self.metrics:
            metric.reset()

    def _log(self, prefix: str = "", is_main_process: bool = True) -> None:
        # Every process computes (torchmetrics synchronises inside compute); one may log.
        msg = prefix
        for entry in self.metric_entrys:
            for name, value in entry.get():
                msg += "%s[%.4f] " % (name, value) if isinstance(value, (int, float)) else f"{name}[{value!s}] "
        if self.log_main_process_only and not is_main_process:
            return
        logger.info(msg)

    def _on_loop_begin(self, args: PipelineHookArgs) -> None:
        for metric in self.metrics:
            if hasattr(metric, "to"):
                metric.to(device=args.accelerator.device)
        self._placed = True

    def _on_batch_end(self, args: PipelineHookArgs) -> None:
        if not self._placed:  # a resume from hookpipe's checkpoint does not run loop.before again
            self._on_loop_begin(args)
        if args.model_outputs is None:
            raise ValueError("Model outputs are required to update metrics.")
        self.update_metric(args.batch, args.model_outputs)

    def _on_step_end(self, args: PipelineHookArgs) -> None:
        if self.step_log_freq > 0 and (args.step_id + 1) % self.step_log_freq == 0:
            prefix = f"Epoch[{args.epoch_id}] Step[{args.step_id}] GlobalStep[{args.global_step_id}]: "
            self._log(prefix=prefix, is_main_process=args.accelerator.is_main_process)
        if self.reset_by == "step" and (args.global_step_id + 1) % self.reset_freq == 0:
            self._reset()

    def _on_epoch_end(self, args: PipelineHookArgs) -> None:
        if self.epoch_log_freq > 0 and (args.epoch_id + 1) % self.epoch_log_freq == 0:
            self._log(prefix=f"Epoch[{args.epoch_id}]: ", is_main_process=args.accelerator.is_main_process)
        if self.reset_by == "epoch" and (args.epoch_id + 1) % self.reset_freq == 0:
            self._reset()


class MetricTrackerConfig(PipelineHooksConfig[MetricTracker], MetricTrackerFields):
    """Configuration of :class:`MetricTracker` (fields: :class:`~hookpipe.compiler.seed_fields.MetricTrackerFields`)."""

    class_type: ClassType[MetricTracker] = MetricTracker
    metric_entrys: Sequence[MetricEntry] | MetricEntry
