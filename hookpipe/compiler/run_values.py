"""Run-time values: ``run.updates``, ``run.steps``, ``run.steps_per_epoch``, ``run.updates_per_epoch``,
``run.num_processes``.

A schedule's length depends on the dataloader's length, the accumulation and the
number of processes, none of which the ``.pipe`` file can know; written by hand it
is wrong on the next machine. These names stand where an argument value is
expected (``total_steps = run.updates``). The compiler keeps them as
``{"$run": NAME}`` in the Plan (checked for spelling, HP002, never evaluated);
the runtime replaces them once the dataloader is prepared, before any factory
that takes them is called. This module is torch-free: the compiler, lint and
the runtime share it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hookpipe.compiler.plan import Plan

__all__ = ["PLACEHOLDER", "RECORDED", "RUN_KEY", "RUN_VALUES", "RunSize", "contains_run_value", "count_updates",
           "is_run_value", "run_steps", "substitute", "updates_in_epoch", "with_run_values"]

#: The value names after ``run.``, with what each means (for diagnostics and docs).
RUN_VALUES: dict[str, str] = {
    "updates": "optimizer updates in the whole run",
    "steps": "batches each process trains on in the whole run",
    "steps_per_epoch": "batches per epoch on each process",
    "updates_per_epoch": "optimizer updates per epoch on each process",
    "num_processes": "processes taking part in the run",
}

#: The values a checkpoint records (``RunSize.as_dict``), which a resume compares with today's.
#: ``updates_per_epoch`` is not among them: it follows from ``steps_per_epoch`` and
#: ``grad_accumulation``, whose changes a resume already reports (and rebases the schedule
#: for), and a checkpoint written before it existed would read as a change.
RECORDED = ("updates", "steps", "steps_per_epoch", "num_processes")

#: The key of a run-time value in a Plan's JSON values.
RUN_KEY = "$run"


@dataclass(frozen=True, slots=True)
class RunSize:
    """The run's dimensions as the trainer runs them (per process).

    ``None`` where the length is not known (a dataloader without ``len``).
    ``updates_per_epoch`` is ``ceil(steps_per_epoch / accumulation)`` (accelerate's
    rule: a window also closes at each epoch's last batch, see :func:`count_updates`);
    it is last, with a default, so that a size built without it (before the loader
    is prepared) keeps its positional form.
    """

    steps: int | None
    updates: int | None
    steps_per_epoch: int | None
    num_processes: int
    updates_per_epoch: int | None = None

    @classmethod
    def of(cls, max_step: int | None, max_epoch: int | None, steps_per_epoch: int | None,
           accumulation: int, num_processes: int) -> "RunSize":
        """The size of a run with these limits (see :func:`run_steps`, :func:`count_updates`).

        Example:
            >>> size = RunSize.of(None, 2, 45, 4, 1)
            >>> size.updates, size.updates_per_epoch
            (24, 12)
        """
        steps = run_steps(max_step, max_epoch, steps_per_epoch)
        return cls(steps, count_updates(steps, steps_per_epoch, accumulation), steps_per_epoch, num_processes,
                   updates_in_epoch(steps_per_epoch, accumulation))

    @classmethod
    def resumed(cls, done: tuple[int, int, int, int], max_step: int | None, max_epoch: int | None,
                steps_per_epoch: int | None, accumulation: int, num_processes: int) -> "RunSize":
        """The size of a resumed run: what is done plus what is left under the current settings.

        ``done`` is the checkpoint's position ``(epoch, step in that epoch, steps
        done, updates done)``. ``run.steps`` and ``run.updates`` stay counts of the
        whole run, so a schedule written as ``total_steps = run.updates`` and
        restored at the updates already made goes on from there instead of being
        re-measured as if the run had always had today's batch size, accumulation
        or process count. ``run.steps_per_epoch`` and ``run.updates_per_epoch`` are
        today's (one epoch under the current settings). A fresh run (all zeros) gets
        :meth:`of`'s numbers.

        Example:
            >>> RunSize.resumed((2, 0, 90, 45), None, 4, 45, 2, 1).updates  # 45 done, 2 epochs of 23 left
            91
        """
        epoch, step, steps_done, updates_done = done
        per_epoch = updates_in_epoch(steps_per_epoch, accumulation)  # today's, as steps_per_epoch is
        left = _steps_left(epoch, step, steps_done, max_step, max_epoch, steps_per_epoch)
        if left is None:
            return cls(None, None, steps_per_epoch, num_processes, per_epoch)
        steps = steps_done + left
        if steps_per_epoch is None or steps_per_epoch <= 0:
            return cls(steps, None, steps_per_epoch, num_processes, per_epoch)
        return cls(steps, updates_done + _updates_from(step, left, steps_per_epoch, accumulation),
                   steps_per_epoch, num_processes, per_epoch)

    def as_dict(self) -> dict[str, int | None]:
        """The values a checkpoint records, by their ``run.`` names (:data:`RECORDED`)."""
        return {name: self.get(name) for name in RECORDED}

    def get(self, name: str) -> int | None:
        return {"updates": self.updates, "steps": self.steps, "steps_per_epoch": self.steps_per_epoch,
                "updates_per_epoch": self.updates_per_epoch, "num_processes": self.num_processes}[name]


#: What the compiler checks a run-time value as: a positive integer (every one is, in a real run).
PLACEHOLDER = RunSize(1, 1, 1, 1, 1)


def run_steps(max_step: int | None, max_epoch: int | None, steps_per_epoch: int | None) -> int | None:
    """Batches in the run: ``max_step``, or ``max_epoch`` epochs, whichever ends first.

    Example:
        >>> run_steps(100, 3, 45), run_steps(None, 3, 45), run_steps(None, 3, None)
        (100, 135, None)
    """
    if max_epoch is None:
        return max_step
    if steps_per_epoch is None:
        return None
    epochs = max_epoch * steps_per_epoch
    return epochs if max_step is None else min(max_step, epochs)


def updates_in_epoch(steps_per_epoch: int | None, accumulation: int) -> int | None:
    """Optimizer updates in one epoch of ``steps_per_epoch`` batches: ``ceil(steps_per_epoch / accumulation)``.

    accelerate's rule (:func:`count_updates`): a window of ``accumulation`` batches
    ends with an update, and so does the epoch's last batch, ending a shorter one.

    Example:
        >>> updates_in_epoch(45, 4), updates_in_epoch(44, 4), updates_in_epoch(45, 1), updates_in_epoch(None, 4)
        (12, 11, 45, None)
    """
    if steps_per_epoch is None or steps_per_epoch <= 0:
        return None
    return -(-steps_per_epoch // max(1, accumulation))


def count_updates(steps: int | None, steps_per_epoch: int | None, accumulation: int) -> int | None:
    """Optimizer updates in a run of ``steps`` batches (accelerate's rule).

    Inside an epoch, batch ``i`` (0-based) ends with an update when
    ``(i + 1) % accumulation == 0`` or it is the epoch's last batch; a run that
    stops on ``max_step`` inside an accumulation window makes no partial update.

    Example:
        >>> count_updates(10, 5, 2)  # per epoch: after batches 2, 4 and 5
        6
    """
    if steps is None or steps_per_epoch is None or steps_per_epoch <= 0:
        return None
    accumulation = max(1, accumulation)
    full, rest = divmod(steps, steps_per_epoch)
    return full * -(-steps_per_epoch // accumulation) + rest // accumulation


def _steps_left(epoch: int, step: int, steps_done: int, max_step: int | None, max_epoch: int | None,
                steps_per_epoch: int | None) -> int | None:
    """Batches a run resumed at ``(epoch, step)`` with ``steps_done`` behind it still trains on."""
    by_step = None if max_step is None else max(0, max_step - steps_done)
    if max_epoch is None:
        return by_step
    if steps_per_epoch is None:
        return None
    by_epoch = 0
    if epoch < max_epoch:  # the rest of this epoch (none when it is already past the loader's end), then whole ones
        by_epoch = max(0, steps_per_epoch - step) + (max_epoch - epoch - 1) * steps_per_epoch
    return by_epoch if by_step is None else min(by_step, by_epoch)


def _updates_from(step: int, steps: int, steps_per_epoch: int, accumulation: int) -> int:
    """Updates over ``steps`` batches starting at batch ``step`` of an epoch (accelerate's rule)."""
    accumulation = max(1, accumulation)
    first = min(steps, max(0, steps_per_epoch - step))
    end = step + first
    updates = end // accumulation - step // accumulation
    if first and end == steps_per_epoch and steps_per_epoch % accumulation:
        updates += 1  # the epoch's last batch always updates
    return updates + (count_updates(steps - first, steps_per_epoch, accumulation) or 0)


def is_run_value(value: Any) -> bool:
    """Whether ``value`` is a Plan's ``{"$run": NAME}``."""
    return isinstance(value, dict) and RUN_KEY in value and len(value) == 1


def contains_run_value(value: Any) -> bool:
    """Whether a Plan value holds a run-time value anywhere inside it."""
    if is_run_value(value):
        return True
    if isinstance(value, dict):
        return any(contains_run_value(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_run_value(v) for v in value)
    return False


def substitute(value: Any, size: RunSize, where: str) -> Any:
    """``value`` with every ``{"$run": NAME}`` replaced by the run's number.

    Raises:
        ValueError: a value the run cannot know (its dataloader has no length),
            naming ``where`` and what to do.
    """
    if is_run_value(value):
        name = value[RUN_KEY]
        number = size.get(name)
        if number is None:
            raise ValueError(f"{where}: run.{name} is not known: the dataloader has no len(); "
                             "give the dataloader a length or write the number")
        return number
    if isinstance(value, dict):
        return {k: substitute(v, size, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, size, where) for v in value]
    return value


def with_run_values(plan: Plan, size: RunSize) -> Plan:
    """``plan`` with the run-time values of its hooks' arguments filled in.

    The trainer settings are left as they are: the runtime fills each factory's
    values as it builds it (some are known earlier than others).
    """
    if not any(contains_run_value(h.args) for h in plan.hooks):
        return plan
    hooks = tuple(dataclasses.replace(h, args=substitute(h.args, size, f"hook '{h.name}'")) for h in plan.hooks)
    return dataclasses.replace(plan, hooks=hooks, _hash="")
