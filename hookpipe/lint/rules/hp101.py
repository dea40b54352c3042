"""HP101: a hook never fires within the run.

Judged by arithmetic on the guard alone: the first firing is the ``from``-th
occurrence of the unit, so it never comes when that is beyond the most the run
can have. Only what the settings bound is judged: with only ``max_epoch`` known,
the number of steps is unknown, so step, update and batch frequencies are left
alone, and so is a validation run's batches (its loader's length).
An update needs at least one batch and an epoch at least one, so ``max_step``
bounds both (loosely, but never wrongly).
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loop import every, plural, split_validation_scope
from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.rules._common import most_updates, setting, setting_note, warning

CODE = "HP101"


def _bound(ctx: Compilation, unit: str) -> tuple[int, str] | None:
    """The most occurrences of ``unit`` the run can have, and the setting that says so."""
    max_step, max_epoch = setting(ctx, "max_step"), setting(ctx, "max_epoch")
    if unit == "epoch" and max_epoch is not None:
        return int(max_epoch), "max_epoch"
    if max_step is not None:
        if unit == "update":  # the epoch length is unknown here: the most updates max_step allows
            return most_updates(ctx, int(max_step)), "max_step"
        return int(max_step), "max_step"
    return None


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    for node in ctx.nodes:
        guard = ctx.guards.get(node.id)
        if guard is None or guard.unit is None or guard.at_end:
            continue
        if split_validation_scope(node.scope) is not None:
            continue  # a validation run's batches: as many as its loader has, which no setting says
        bound = _bound(ctx, guard.unit)
        if bound is None or guard.start <= bound[0]:
            continue
        limit, key = bound
        a = node.attachment
        span = a.start_span if a.start_span is not None else (a.every.span if a.every else a.span)
        yield warning(
            CODE,
            f"`{node.hook}` never fires: its first firing is {guard.unit} {guard.start}, "
            f"but the run has at most {limit} {plural(guard.unit) if limit != 1 else guard.unit}",
            span,
            setting_note(ctx, key),
            help=f"fire more often (at most {every(limit, guard.unit)}), or add `and at end` to fire once at "
            "the end",
        )
