"""MMEngine's per-iteration schedules and EMA under ``accumulative_counts``, counted in updates.

MMEngine's ``ParamSchedulerHook`` steps an iteration-based scheduler and ``EMAHook``
averages in ``after_train_iter``: every iteration, whether or not the
``OptimWrapper`` updated on it (it updates on every ``A``-th, ``A`` =
``accumulative_counts``). hookpipe's ``optimizer`` hook steps ``trainer.lr_scheduler``
and its ``ema`` hook averages once per optimizer update. So MMEngine's k-th update
(k = 1, 2, ...), at iteration ``k*A - 1``, uses the value its scheduler has after
``k*A - 1`` steps; hookpipe's k-th update the value after ``k - 1`` steps. With
``A = 1`` the two agree and nothing here is used.

A torch scheduler is converted only where a per-update scheduler gives every update
exactly MMEngine's value (each rule below says why); otherwise the line keeps the
file's numbers and is marked with the per-update numbers that come closest. Both
count windows of ``A`` iterations from the run's start: hookpipe also closes a
window at each epoch's last batch (accelerate's rule), MMEngine does not, so
the two agree when an epoch's batches are a multiple of ``A`` (docs/import.md).
hookpipe's trainer has no setting for accelerate's ``sync_with_dataloader=False``,
so that condition is said in the marks (``window_note``), on ``grad_accumulation``
and on each converted scheduler.

MMEngine's values after ``i`` steps, ``begin = 0``, ``end = E``
(``mmengine.optim.scheduler.param_scheduler``; its ``total_iters`` is ``E - 1``):
``LinearLR`` ``s + (e - s) * min(i, E - 1) / (E - 1)``; ``ConstantLR`` ``factor``
while ``i < E - 1``, then 1; ``StepLR`` ``gamma ** (i // step_size)``;
``MultiStepLR`` ``gamma`` to the number of milestones ``<= i``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hookpipe.porting.mmengine_keys import ordinal


def per_update_scheduler(kind: str, args: dict[str, Any], begin: Any, end: Any,
                         counts: int) -> tuple[dict[str, Any] | None, str]:
    """The arguments of torch's ``kind`` that give each update MMEngine's value, or None and what to do.

    ``args`` are the scheduler's own arguments (no ``begin``/``end``); the scheduler
    steps every iteration in MMEngine, ``counts`` iterations make one update.
    """
    if begin not in (0, None):
        return None, _advice(kind, counts, f"it begins at iteration {begin}: count its iterations in updates "
                                           f"(about {_about(begin, counts)} for {begin})")
    if kind in ("LinearLR", "ConstantLR"):
        if not isinstance(end, int) or isinstance(end, bool) or end < 1:
            return None, _advice(kind, counts, "give its end in updates")
        if end == 1:  # MMEngine's total_iters is 0: its first value, never stepped again, is every update's
            return {**args, "total_iters": 0}, ""
        return _ramp(kind, args, end, counts)
    if kind == "MultiStepLR":
        milestones = args.get("milestones")
        if isinstance(milestones, (list, tuple)) and all(isinstance(m, int) and not isinstance(m, bool) and m >= 0
                                                         for m in milestones):
            # milestone m is passed at update k when m <= k*A - 1, i.e. k - 1 >= m // A
            return {**args, "milestones": [m // counts for m in milestones]}, ""
        return None, _advice(kind, counts, "divide its milestones by " + str(counts))
    if kind == "StepLR":
        size = args.get("step_size")
        if isinstance(size, int) and size >= 1 and size % counts == 0:
            # (k*A - 1) // (S'*A) == (k - 1) // S': no multiple of A lies in [k*A - A + 1, k*A - 1]
            return {**args, "step_size": size // counts}, ""
        return None, _advice(kind, counts, f"set step_size to about {_about(size, counts)}")
    if kind == "ExponentialLR":
        gamma = args.get("gamma")
        if isinstance(gamma, (int, float)):
            return None, _advice(kind, counts, f"set gamma to about gamma^{counts} = {gamma ** counts:.8g} "
                                               f"(update k gets gamma^({counts}k - 1))")
    if kind == "CosineAnnealingLR":
        return None, _advice(kind, counts, f"set T_max to about {_about(args.get('T_max'), counts)}")
    return None, _advice(kind, counts, f"divide its iteration counts by {counts}")


def _ramp(kind: str, args: dict[str, Any], end: int, counts: int) -> tuple[dict[str, Any] | None, str]:
    """``LinearLR``/``ConstantLR`` from 0 to ``end`` iterations.

    Update k reads MMEngine's value at ``i = k*A - 1``; it has reached its last
    value from ``k0 = ceil(E / A)`` on. ``ConstantLR``: ``factor`` exactly for
    ``k < k0``, so ``total_iters = k0 - 1``. ``LinearLR``: the values of updates
    1..k0 lie on one line when ``A`` divides ``E`` (then update ``k0`` reads
    ``i = E - 1``) or ``k0 = 2`` (two points), and torch's ramp from
    ``start_factor`` (update 1's value) to ``end_factor`` in ``k0 - 1`` steps is
    that line; otherwise update ``k0`` jumps off it.
    """
    last = -(-end // counts)  # k0
    stop = 1.0 if kind == "ConstantLR" else args.get("end_factor", 1.0)
    if last < 2:  # every update gets the last value
        then = "remove it" if stop == 1 else f"remove it and multiply the optimizer's lr by {stop}"
        return None, _advice(kind, counts, f"it ends within the first update ({end} iterations): {then}")
    if kind == "ConstantLR":
        return {**args, "total_iters": last - 1}, ""
    start = args.get("start_factor", 1 / 3)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, stop)):
        return None, _advice(kind, counts, "give its factors and length in updates")
    first = start + (stop - start) * (counts - 1) / (end - 1)  # MMEngine's value at iteration A - 1
    if (end % counts == 0 or last == 2) and 0 < first <= 1:
        return {**args, "start_factor": round(first, 12), "total_iters": last - 1}, ""
    return None, _advice(kind, counts, f"set start_factor to about {first:.8g} and total_iters to about {last - 1} "
                                       f"(exact when {counts} divides end)")


def _advice(kind: str, counts: int, what: str) -> str:
    return (f"MMEngine steps {kind} every iteration, hookpipe once per update ({counts} iterations under "
            f"accumulative_counts): {what}")


def _about(value: Any, counts: int) -> str:
    """``value / counts`` rounded, for a mark's advice ("about 10"); the value itself when it is no number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(max(1, round(value / counts)))
    return f"{value} / {counts}"


def schedule_note(described: str, counts: int) -> str:
    """The mark of an MMEngine schedule left to a factory: what it is stepped by here, in updates.

    Under accumulation the factory is also given ``updates_per_epoch = run.updates_per_epoch``
    (``ceil(steps_per_epoch / A)``: accelerate closes a window at each epoch's end), the
    updates of an epoch, rather than being told to compute them from the config's ``A``.
    """
    if counts == 1:
        return (f"MMEngine's param_scheduler ({described}) is stepped per update here: write a factory taking the "
                "optimizer, this schedule and steps_per_epoch")
    # no schedule description here: the written line shows it, and a comment is cut at 240 characters
    return (f"param_scheduler is stepped once per update here: write a factory taking the optimizer, this schedule, "
            f"steps_per_epoch and updates_per_epoch, counting an update as {counts} iterations (accumulative_counts), "
            "an epoch as updates_per_epoch updates")


def window_note(counts: int, by_epoch: bool) -> str:
    """When MMEngine's accumulation windows are accelerate's: the condition every per-update translation carries.

    MMEngine's ``OptimWrapper`` counts iterations over the whole run
    (``initialize_count_status(model, iter, max_iters)``) and updates when
    ``inner_count % A == 0`` or at ``max_iters``; accelerate also ends a window at the
    train loader's last batch and starts the next one there.
    """
    if by_epoch:
        return (f"MMEngine's accumulation windows of {counts} iterations run on across epochs; accelerate's also end "
                f"at each epoch's last batch, so an epoch whose batch count is not a multiple of {counts} ends on a "
                "shorter window here and the next epoch's windows start over: the updates are MMEngine's only when "
                f"every epoch's batch count is a multiple of {counts}; check the train loader's length")
    return (f"MMEngine's accumulation windows of {counts} iterations run on across passes over the train loader; "
            f"accelerate's also end at each pass's last batch, so with a loader length that is not a multiple of "
            f"{counts} each pass ends on a shorter window here and the next pass's windows start over: check the "
            "loader's length")


def ema_note(args: dict[str, Any], counts: int, interval: int = 1) -> str:
    """The mark of an ``ema`` written from ``EMAHook`` under accumulation: MMEngine averages every ``interval``-th
    iteration (every one by default), the weights change every ``counts``-th.

    Between updates the weights do not change, so MMEngine's ``counts / interval``
    averagings toward them act as one averaging with decay ``decay ** (counts / interval)``
    (exactly so when ``interval`` divides ``counts``: none falls on an update's own
    iteration after the first); but MMEngine starts from the initial weights and is
    evaluated part of a window late, so no decay is exact. One statement for both
    factors: ``interval`` 2 under ``accumulative_counts`` 2 is one averaging per
    update, the ``ema`` hook's own rate.
    """
    power = Fraction(counts, interval)
    shown = str(power) if power.denominator == 1 else f"({power})"
    decay = args.get("decay")
    if power == 1:
        advice = f"keep decay (decay^({counts}/{interval}) = decay)"
    else:
        advice = f"set decay to about decay^{shown}"
        if isinstance(decay, float):
            advice += f" = {decay ** float(power):.8g}"
    if isinstance(args.get("momentum"), str):
        gamma = args.get("gamma")
        about = f"{gamma / counts:.8g}" if isinstance(gamma, int) else f"gamma / {counts}"
        advice += f", gamma to about {about} (the ramp counts iterations)"
    averages = "every iteration" if interval == 1 else f"every {ordinal(interval)} iteration (interval {interval})"
    return (f"MMEngine's EMAHook averages {averages}, ema once per update ({counts} iterations under "
            f"accumulative_counts): {advice}")
