"""``log()``: one record per firing to the trackers of ``trainer.log_with``.

Each firing writes, at step = completed training steps (the count validation and
the run summary use: inside a step the running step counts as completed):

* ``loss``: the mean loss over every process and every step since the previous
  firing (the trainer sums each step's loss on the device; one all-reduce here);
* ``lr/<i>``: the learning rate of each param group ``i`` of the optimizer;
* ``steps_per_s``: training steps per second since the previous firing;
* ``epoch``: the 0-based epoch the firing belongs to (at the loop's end, the last one that ran);
* ``<hook>/<metric>``: every metric a validation hook produced since the previous
  firing (its latest value), e.g. ``evaluate/accuracy``.

A firing at the step of the previous record with nothing new (no step since, no
new metric: ``log() every 40 steps`` in ``step.after`` and ``log()`` in
``epoch.after`` of a 40-step epoch) writes nothing: one record per step, not a
second one without its loss.

Every process runs it (the loss is averaged over them, a collective); only the
main process writes (accelerate's trackers are main-process only).
"""

from __future__ import annotations

import time
from typing import Any

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs, last_epoch
from hookpipe.runtime.tracking.loss_meter import LossMeter
from hookpipe.runtime.tracking.trackers import csv_trackers

__all__ = ["LogHook"]


class LogHook:
    """Write loss, learning rates, throughput and new validation metrics to the trackers."""

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["log"].effects.to_json()

    def __init__(self) -> None:
        self._trainer: Any = None
        self._meter = LossMeter()
        #: Per validation hook: how many of its history entries are already logged.
        self._seen: dict[str, int] = {}
        self._last: tuple[int, float] | None = None
        #: The step of the latest record written (None: none yet).
        self._written: int | None = None
        #: The values of the latest firing (every process computes them).
        self.last_values: dict[str, float] = {}
        #: CSV rows the checkpoint this run resumed from had seen (0: a new run).
        self._csv_rows = 0
        self._started = False

    def bind_trainer(self, trainer: Any) -> None:
        """The trainer sums each step's loss into this hook's meter."""
        self._trainer = trainer
        self._meter = trainer.add_loss_meter()

    def _log(self, args: PipelineHookArgs, done: int, epoch: int | None = None) -> None:
        acc = args.accelerator
        if not self._started:  # a resumed run rewrites the CSV rows after its checkpoint
            self._started = True
            for tracker in csv_trackers(acc):
                tracker.resume_at(self._csv_rows)
        values: dict[str, float] = {"epoch": args.epoch_id if epoch is None else epoch}  # an integer in the CSV
        loss = self._meter.take_mean(acc)
        if loss is not None:
            values["loss"] = loss
        if args.optimizer is not None:
            for i, group in enumerate(args.optimizer.param_groups):
                values[f"lr/{i}"] = float(group["lr"])
        now = time.perf_counter()
        last = self._last or (self._trainer.run_started if self._trainer is not None else None)
        if last is not None and done > last[0] and now > last[1]:
            values["steps_per_s"] = (done - last[0]) / (now - last[1])
        metrics = self._new_metrics()
        if done == self._written and loss is None and not metrics:
            return  # nothing new since the record at this step (every process decides alike)
        self._last = (done, now)
        values.update(metrics)
        self.last_values = values
        self._written = done
        acc.log(values, step=done)

    def _new_metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        instances = self._trainer.hook_instances if self._trainer is not None else {}
        for name, inst in instances.items():
            history = getattr(inst, "history", None)
            if not isinstance(history, list):
                continue
            for _, metrics in history[self._seen.get(name, 0):]:
                out.update({f"{name}/{k}": v for k, v in (metrics or {}).items()})
            self._seen[name] = len(history)
        return out

    def state_dict(self) -> dict[str, Any]:
        """The loss sum since the last firing and what was logged; the clock restarts on resume."""
        rows = [t.rows for t in csv_trackers(self._trainer.accelerator)] if self._trainer is not None else []
        return {"meter": self._meter.state_dict(), "seen": dict(self._seen), "csv_rows": max(rows, default=0)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._meter.load_state_dict(state["meter"])
        self._seen = {str(k): int(v) for k, v in state["seen"].items()}
        self._csv_rows = int(state.get("csv_rows", 0))

    # Inside a step the running step counts as completed; at boundaries the ids are synced.
    def _at_boundary(self, args: PipelineHookArgs) -> None:
        self._log(args, args.global_step_id)

    def _in_step(self, args: PipelineHookArgs) -> None:
        self._log(args, args.global_step_id + 1)

    def on_validation_end(self, args: PipelineHookArgs) -> None:
        """In ``validation NAME { after { } }``: one record at the step the new result is labelled with.

        The validation that just ran appended the newest entry of any history, so
        its label (completed steps, inside a step or at a boundary) is the largest.
        """
        instances = self._trainer.hook_instances if self._trainer is not None else {}
        labels = [history[-1][0] for inst in instances.values()
                  if isinstance(history := getattr(inst, "history", None), list) and history]
        self._log(args, max(labels, default=args.global_step_id))

    def on_loop_end(self, args: PipelineHookArgs) -> None:
        """The record of the last epoch that ran: at the loop's end the ids count the epochs run (the seed's)."""
        self._log(args, args.global_step_id, last_epoch(args))

    on_epoch_end = _at_boundary
    on_step_end = on_batch_end = on_model_forward_end = on_model_backward_end = _in_step
