"""``StatsMonitor``: RoboOrchard Lab's speed, remaining-time and learning-rate log.

Step times are the gaps between consecutive ``on_step`` ends, smoothed over the
last ``window_size`` steps; the remaining time counts the steps left to
``max_step`` / ``max_epoch`` (the latter needs ``steps_per_epoch``, from the config,
``len(dataloader)`` or, failing both, the first epoch). Only the main process logs.

Its state is checkpointed (``state_dict``/``load_state_dict``, which the built-in
``checkpoint`` stores): a run resumed from it does not run ``loop.before`` again
(nor ``epoch.before`` mid-epoch), so ``on_loop_begin`` never sets the timers there.
The restored monitor keeps the interrupted run's recent step times and the time
already spent in the epoch, and starts its clocks at the resume; what it learnt of
the data (batch size, steps per epoch) is estimated again from the resumed run's
loader, except a ``steps_per_epoch`` only the first epoch could tell.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import deque
from typing import Any, Iterable, Optional

from accelerate import Accelerator
from accelerate.data_loader import DataLoaderShard
from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.seed_fields import StatsMonitorFields
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["StatsMonitor", "StatsMonitorConfig", "remaining_steps"]

logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.stats")


def remaining_steps(
    current_step: int,
    start_step: int,
    start_epoch: int,
    max_step: Optional[int],
    max_epoch: Optional[int],
    steps_per_epoch: Optional[int],
) -> float | None:
    """Steps left after ``current_step`` (0-based), or None when the run's length is unknown.

    The seed's arithmetic, including its use of ``start_step`` (the step in the
    resumed epoch) in both limits.
    """
    if max_step is None and max_epoch is None:
        raise ValueError("At least one of `max_step` or `max_epoch` must be specified.")
    if max_epoch is not None and steps_per_epoch is None:
        return None
    total: float = float("inf") if max_step is None else max_step - start_step
    if max_epoch is not None:
        total = min(steps_per_epoch * (max_epoch - start_epoch) - start_step, total)  # type: ignore[operator]
    return max(0.0, total - current_step - 1)


def _duration(seconds: float | None) -> str:
    return "N/A" if seconds is None else str(datetime.timedelta(seconds=int(seconds)))


def _learning_rates(args: PipelineHookArgs, log: bool) -> str:
    text = ""
    if args.optimizer is None:
        return text
    for idx, group in enumerate(args.optimizer.param_groups):
        text += "Learning Rate Group {}: {:.5e}.\t".format(idx, group["lr"])
        if log:
            args.accelerator.log({f"LR/group{idx}": group["lr"]}, step=args.global_step_id)
    return text


class StatsMonitor(PipelineHooks):
    """Log training speed, estimated remaining time and learning rates."""

    def __init__(self, cfg: "StatsMonitorConfig") -> None:
        super().__init__()
        self.batch_size = cfg.batch_size
        self.steps_per_epoch = cfg.steps_per_epoch
        self.step_log_freq = cfg.step_log_freq
        self.epoch_log_freq = cfg.epoch_log_freq
        self.total_batch_size: int | None = None
        self._data_stats_estimated = False
        self._start_time: float | None = None
        self._step_times: deque[float] = deque(maxlen=cfg.window_size)
        self._last_step_end_time = 0.0
        self._epoch_start_time: float | None = None
        self._last_epoch_id = 0
        self._epoch_start_step_id = 0
        #: Set by load_state_dict: the data statistics are estimated at the first callback after the resume.
        self._resumed = False
        #: Whether ``steps_per_epoch`` was learnt from the first epoch (no length known): checkpointed.
        self._steps_learnt = False
        self.register_hook("on_loop", HookContext.from_callable(before=self._on_loop_begin))
        self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))
        self.register_hook("on_epoch", HookContext.from_callable(before=self._on_epoch_begin, after=self._on_epoch_end))

    def _estimate_data_stats(self, accelerator: Accelerator, dataloader: Iterable[Any] | None) -> None:
        if self._data_stats_estimated:
            return
        processes = accelerator.num_processes
        if self.batch_size is not None:
            self.total_batch_size = self.batch_size * processes
        elif isinstance(dataloader, DataLoaderShard):
            self.total_batch_size = dataloader.total_batch_size
            self.batch_size = int(dataloader.total_batch_size / processes)
        elif getattr(dataloader, "batch_size", None) is not None:
            self.batch_size = dataloader.batch_size  # type: ignore[union-attr]
            self.total_batch_size = self.batch_size * processes
        if self.batch_size is None:
            raise ValueError("cannot estimate batch_size from dataloader, please provide it")
        if self.steps_per_epoch is None:
            if hasattr(dataloader, "__len__"):
                self.steps_per_epoch = len(dataloader)  # type: ignore[arg-type]
            elif accelerator.is_main_process:
                logger.warning(
                    "Cannot estimate 'steps_per_epoch' before the first epoch is completed when 'max_epoch' is "
                    "specified. As a result, the estimation of remaining training time will not be possible until "
                    "after the first epoch. Please ensure that 'steps_per_epoch' is provided or the dataloader "
                    "implements '__len__'."
                )
        self._data_stats_estimated = True

    def _estimate_remaining_time(
        self,
        avg_step_time: float,
        current_step: int,
        current_epoch: int,
        start_step: int,
        start_epoch: int,
        max_step: Optional[int],
        max_epoch: Optional[int],
        steps_per_epoch: Optional[int],
    ) -> Optional[float]:
        """Seconds left after ``current_step`` at ``avg_step_time`` each; None when unknown.

        The seed's helper with its signature (its own tests call it): 0.0 once no
        step is left, ``ValueError`` without either limit; ``current_epoch`` is
        accepted and, as in the seed, not used.
        """
        steps = remaining_steps(current_step, start_step, start_epoch, max_step, max_epoch, steps_per_epoch)
        if steps is None:
            return None
        return 0.0 if steps <= 0 else steps * avg_step_time

    def _remaining(self, avg_step_time: float, current_step: int, args: PipelineHookArgs) -> str:
        return _duration(self._estimate_remaining_time(avg_step_time, current_step, args.epoch_id, args.start_step,
                                                       args.start_epoch, args.max_step, args.max_epoch,
                                                       self.steps_per_epoch))

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs that ``on_loop_begin``/``on_epoch_begin`` set (they do not run again).

        Times are durations (the recent step times, the seconds spent in the epoch
        so far), not clock readings: the clocks restart at the resume.
        """
        now = time.time()
        return {
            "step_times": list(self._step_times),
            "epoch_elapsed": None if self._epoch_start_time is None else now - self._epoch_start_time,
            "last_epoch_id": self._last_epoch_id,
            "epoch_start_step_id": self._epoch_start_step_id,
            "learnt_steps_per_epoch": self.steps_per_epoch if self._steps_learnt else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from a checkpoint: the monitor is as if ``on_loop_begin`` ran at the resume.

        The time between the checkpoint and the resume is not counted: the first
        step after it is timed from here, like the first step of a run.
        """
        now = time.time()
        self._step_times.clear()
        self._step_times.extend(float(t) for t in state.get("step_times", ()))
        elapsed = state.get("epoch_elapsed")
        self._epoch_start_time = None if elapsed is None else now - float(elapsed)
        self._last_epoch_id = int(state.get("last_epoch_id", 0))
        self._epoch_start_step_id = int(state.get("epoch_start_step_id", 0))
        if self.steps_per_epoch is None and state.get("learnt_steps_per_epoch") is not None:
            self.steps_per_epoch = int(state["learnt_steps_per_epoch"])
            self._steps_learnt = True
        self._start_time = now
        self._last_step_end_time = now
        self._resumed = True

    def _estimate_after_resume(self, args: PipelineHookArgs) -> None:
        """After a resume, the data statistics ``on_loop_begin`` estimates, from the resumed run's loader."""
        if self._resumed and not self._data_stats_estimated:
            self._estimate_data_stats(args.accelerator, args.dataloader)

    def _on_loop_begin(self, args: PipelineHookArgs) -> None:
        self._start_time = time.time()
        self._estimate_data_stats(args.accelerator, args.dataloader)
        self._last_step_end_time = time.time()

    def _on_step_end(self, args: PipelineHookArgs) -> None:
        self._estimate_after_resume(args)
        if self._start_time is None or self.total_batch_size is None:
            raise AssertionError("Please call `on_loop_begin` first.")
        if not args.accelerator.is_main_process:
            return
        now = time.time()
        self._step_times.append(now - self._last_step_end_time)
        self._last_step_end_time = now
        if self.step_log_freq <= 0 or (args.global_step_id + 1) % self.step_log_freq != 0:
            return
        avg = sum(self._step_times) / len(self._step_times)
        msg = f"Epoch[{args.epoch_id}] Step[{args.step_id}] GlobalStep[{args.global_step_id}] "
        msg += f"Training Speed: {self.total_batch_size / avg:.2f} samples/sec across all devices.\t"
        msg += f"Average Step Time: {avg:.2f} sec.\t"
        msg += f"Estimated Remaining Time: {self._remaining(avg, args.global_step_id, args)}.\t"
        msg += _learning_rates(args, log=True)
        logger.info(msg)

    def _on_epoch_begin(self, args: PipelineHookArgs) -> None:
        if self._epoch_start_time is None:
            self._epoch_start_time = time.time()
            self._last_epoch_id = args.epoch_id
            self._epoch_start_step_id = args.global_step_id

    def _on_epoch_end(self, args: PipelineHookArgs) -> None:
        self._estimate_after_resume(args)
        if self._start_time is None:
            raise AssertionError("Please call `on_loop_begin` first.")
        if self._epoch_start_time is None or self.total_batch_size is None:
            raise AssertionError("Please call `on_epoch_begin` first.")
        if not args.accelerator.is_main_process:
            return
        if self.steps_per_epoch is None:  # learnt from the first epoch
            self.steps_per_epoch = args.start_step + args.step_id + 1
            self._steps_learnt = True
        if self.epoch_log_freq <= 0 or (args.epoch_id + 1) % self.epoch_log_freq != 0:
            return
        duration = time.time() - self._epoch_start_time
        avg_epoch = duration / (args.epoch_id - self._last_epoch_id + 1)
        steps = args.global_step_id - self._epoch_start_step_id
        # The seed divides by the step count before testing it; an epoch of no steps
        # is logged here with N/A instead of raising ZeroDivisionError.
        avg_step = duration / steps if steps > 0 else float("nan")
        speed = f"{self.total_batch_size / avg_step:.2f}" if steps > 0 else "N/A"
        remaining = "N/A"
        if self._step_times:
            smooth = sum(self._step_times) / len(self._step_times)
            remaining = self._remaining(smooth, args.global_step_id - 1, args)
        self._epoch_start_time = time.time()
        self._last_epoch_id = args.epoch_id
        self._epoch_start_step_id = args.global_step_id
        msg = f"Epoch[{args.epoch_id}] completed. "
        msg += f"Epoch Time: {duration:.2f} sec.\t"
        msg += f"Average Training Speed: {speed} samples/sec across all devices.\t"
        msg += f"Average Epoch Time: {avg_epoch:.2f} sec.\t"
        msg += f"Average Step Time: {avg_step:.2f} sec.\t"
        msg += f"Estimated Remaining Time: {remaining}.\t"
        msg += _learning_rates(args, log=False)
        logger.info(msg)


class StatsMonitorConfig(PipelineHooksConfig[StatsMonitor], StatsMonitorFields):
    """Configuration of :class:`StatsMonitor` (fields: :class:`~hookpipe.compiler.seed_fields.StatsMonitorFields`)."""

    class_type: ClassType[StatsMonitor] = StatsMonitor
