"""A resumed run's learning-rate schedule: today's schedule, at the updates already made.

accelerate's ``load_state`` gives the scheduler back its whole saved ``__dict__``:
not only its progress (``last_epoch``, the updates made) but also everything the
factory was called with (``T_max``, ``total_steps``, a lambda object's fields,
``base_lrs``). A resumed run whose settings changed (a new ``lr``, another
``max_epoch`` and so ``run.updates``, another batch size) would then follow the old
schedule with some of the new numbers patched in, and the learning rate would jump
at the next update to a value nobody asked for.

The rule (``docs/runtime.md``): the schedule is the one the current settings
define, at the number of updates the checkpoint made. :func:`fresh_schedule`
records, right after the factories ran and before anything loads, the optimizer's
learning rates and the scheduler's state as today's settings made them;
:func:`rebase` puts that state back after the checkpoint loaded and steps it as
many times as the checkpoint's scheduler had been stepped. Stepping (rather than a
closed form) gives every scheduler, chained and custom ones included, exactly the
values an uninterrupted run with these settings would have had.

Only a changed run rebases: an unchanged one keeps the restored state bit for bit.
``ReduceLROnPlateau`` (driven by metrics, not by the update count) is never rebased.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from hookpipe.runtime.errors import PlanResolveError

__all__ = ["FreshSchedule", "fresh_schedule", "rebase"]


@dataclass(frozen=True)
class FreshSchedule:
    """The optimizer's groups' learning rates and the scheduler's state as the factories made them."""

    lrs: tuple[float, ...]
    initial_lrs: tuple[float | None, ...]
    scheduler_state: dict[str, Any] | None


def _unwrapped(obj: Any, attr: str) -> Any:
    return getattr(obj, attr, obj)


def _rebasable(scheduler: Any) -> bool:
    return (scheduler is not None and callable(getattr(scheduler, "state_dict", None))
            and callable(getattr(scheduler, "load_state_dict", None))
            and not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau))


def fresh_schedule(optimizer: Any, scheduler: Any) -> FreshSchedule:
    """Record the schedule today's settings made (call before the checkpoint loads)."""
    optimizer, scheduler = _unwrapped(optimizer, "optimizer"), _unwrapped(scheduler, "scheduler")
    groups = optimizer.param_groups
    state = copy.deepcopy(scheduler.state_dict()) if _rebasable(scheduler) else None
    return FreshSchedule(tuple(float(g["lr"]) for g in groups), tuple(g.get("initial_lr") for g in groups), state)


def rebase(fresh: FreshSchedule, optimizer: Any, scheduler: Any) -> bool:
    """Today's schedule at the restored scheduler's progress; False where there is none to rebase.

    Writes the learning rate of every param group: after this, the optimizer's
    ``lr`` is the one the next update uses.
    """
    optimizer, scheduler = _unwrapped(optimizer, "optimizer"), _unwrapped(scheduler, "scheduler")
    if fresh.scheduler_state is None or not _rebasable(scheduler):
        return False
    progress = scheduler.state_dict().get("last_epoch")
    if not isinstance(progress, int) or progress < 0 or len(optimizer.param_groups) != len(fresh.lrs):
        return False
    for group, lr, initial in zip(optimizer.param_groups, fresh.lrs, fresh.initial_lrs):
        group["lr"] = lr
        if initial is not None:
            group["initial_lr"] = initial
    scheduler.load_state_dict(copy.deepcopy(fresh.scheduler_state))
    start = scheduler.state_dict().get("last_epoch", 0)
    with warnings.catch_warnings():  # "lr_scheduler.step() before optimizer.step()": replaying, not training
        warnings.simplefilter("ignore")
        try:
            for _ in range(progress - int(start)):
                scheduler.step()
        except (ValueError, ZeroDivisionError) as exc:  # e.g. OneCycleLR past its total_steps
            raise PlanResolveError(
                f"the learning-rate schedule under the current settings cannot reach update {progress}, where the "
                f"checkpoint is ({type(exc).__name__}: {exc}); write its length as run.updates, or resume with "
                f"the old settings") from None
    return True
