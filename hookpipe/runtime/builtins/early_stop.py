"""``early_stop(monitor = "evaluate.accuracy", mode = "max", patience = 3, min_delta = 0.0)``.

Each firing judges every result the monitored hook recorded since the previous
firing, oldest first (``monitor`` is ``HOOK.METRIC``; the compiler checked that the
hook exists and produces metrics), as Lightning's ``EarlyStopping`` judges each
validation end: attached in ``epoch.after`` against a validation every update, it
stops exactly where it would attached right after that validation, and its
message names the true best. A result counts once, however often the hook fires
between evaluations (a validation skipped as a repeat records none, see
:mod:`hookpipe.runtime.hooks.validation`). It improves when it beats the best so
far by more than ``min_delta`` (above it for ``max``, below for ``min``); after
``patience`` results in a row without improvement the hook asks for a clean stop
(``args.run.request_stop``): the run finishes the step, then the remaining
``after`` phases of the epoch and the loop (a final validation, a final
checkpoint) run, ``hookpipe run`` exits 0, and its summary gives the reason.
Attach it after the validation it watches, in the same phase or a later one (its
``reads metrics`` orders it after ``validation``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.tracking.monitor import monitored_results

__all__ = ["EarlyStopHook"]


class EarlyStopHook:
    """Stop the run cleanly when ``monitor`` has not improved for ``patience`` results."""

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["early_stop"].effects.to_json()

    def __init__(self, monitor: str, mode: Literal["min", "max"] = "min", patience: int = 3,
                 min_delta: float = 0.0) -> None:
        if mode not in ("min", "max"):
            raise ValueError("mode must be 'min' or 'max'")
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best: float | None = None
        self.best_step: int | None = None
        #: Results in a row without improvement.
        self.bad = 0
        self._seen = -1
        self._trainer: Any = None
        #: Why the hook stopped the run, once it has.
        self.reason: str | None = None

    def bind_trainer(self, trainer: Any) -> None:
        """The trainer's hooks are where the monitored metric is read."""
        self._trainer = trainer

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def check(self, args: PipelineHookArgs) -> None:
        if self.reason is not None:
            return
        for index, done, value in monitored_results(self._trainer.hook_instances, self.monitor, self._seen):
            self._seen = index
            if self._improved(value):
                self.best, self.best_step, self.bad = value, done, 0
                continue
            self.bad += 1
            if self.bad >= self.patience:
                self._stop(args)
                return  # the results after the one that ended the run are not judged

    def _stop(self, args: PipelineHookArgs) -> None:
        best = "none" if self.best is None else f"{self.best:.6g} after {self.best_step} steps"
        self.reason = (f"early_stop: {self.monitor} did not improve by more than {self.min_delta:g} "
                       f"for {self.bad} evaluations (best {best})")
        if args.run is None:  # every hookpipe trainer sets it; a hand-built args object may not
            raise RuntimeError("early_stop needs args.run (the run's clean-stop request)")
        args.run.request_stop(self.reason)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "bad": self.bad, "seen": self._seen,
                "reason": self.reason}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step = state["best"], state["best_step"]
        self.bad, self._seen, self.reason = int(state["bad"]), int(state["seen"]), state["reason"]

    on_loop_end = on_epoch_end = on_step_end = on_batch_end = check
    on_model_forward_end = on_model_backward_end = check
    on_validation_end = check  # in `validation NAME { after { } }`: the result just recorded
