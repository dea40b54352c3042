"""HP101: a hook never fires within the run.

Judged by arithmetic on the guard alone: the first firing is the ``from``-th
occurrence of the unit, so it never comes when that is beyond the most the run
can have. Only what the settings bound is judged: with only ``max_epoch`` known,
the number of steps is unknown, so step, update and batch frequencies are left
alone, and so is a validation run's batches (its loader's length).
An update needs at least one batch and an epoch at least one, so ``max_step``
bounds both (loosely, but never wrongly).

The guard is the effective one (:func:`~hookpipe.compiler.internal_frequency.effective_guard`):
a RoboOrchard Lab hook filters itself by its own step frequency
(``SaveCheckpointConfig(save_step_freq = 50)``, ``ValidationHookConfig(step_eval_freq = 40)``),
so attached every step in a 30-step run it never fires either; the finding then
points at that argument.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.internal_frequency import effective_guard
from hookpipe.compiler.loop import every, plural, split_validation_scope
from hookpipe.compiler.plan import Guard
from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl.span import Span
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
        written = ctx.guards.get(node.id)
        if written is not None and written.at_end:
            continue  # `and at end` fires once at least
        guard = effective_guard(ctx, node)
        if guard.unit is None:
            continue
        if split_validation_scope(node.scope) is not None:
            continue  # a validation run's batches: as many as its loader has, which no setting says
        bound = _bound(ctx, guard.unit)
        if bound is None or guard.start <= bound[0]:
            continue
        limit, key = bound
        own = _own_frequency(ctx, node, written, guard)
        a = node.attachment
        units = plural(guard.unit) if limit != 1 else guard.unit
        if own is not None and (written is None or written.unit is None or (written.every, written.start) == (1, 1)):
            # The hook's own argument alone decides: point at it.
            arg, value, span = own
            yield warning(
                CODE,
                f"`{node.hook}` never fires in `{node.scope}.{node.phase}`: its own `{arg} = {value}` makes its "
                f"first firing step {guard.start}, but the run has at most {limit} {units}",
                span,
                setting_note(ctx, key),
                help=f"set `{arg}` to at most {limit}, so that it fires within the run",
            )
            continue
        span = a.start_span if a.start_span is not None else (a.every.span if a.every else a.span)
        with_own = f" (with its own `{own[0]} = {own[1]}`)" if own is not None else ""
        yield warning(
            CODE,
            f"`{node.hook}` never fires: its first firing is {guard.unit} {guard.start}{with_own}, "
            f"but the run has at most {limit} {units}",
            span,
            setting_note(ctx, key),
            help=f"fire more often (at most {every(limit, guard.unit)}), or add `and at end` to fire once at "
            "the end",
        )


def _own_frequency(ctx: Compilation, node: Node, written: Guard | None,
                   guard: Guard) -> tuple[str, object, Span] | None:
    """``(argument, value, its span)`` when the hook's own step frequency made ``guard`` differ from the written one."""
    if guard == (written or Guard()):
        return None
    info = ctx.hooks[node.hook]
    if info.builtin is None:
        return None
    arg = dict(info.builtin.step_frequency).get(f"{node.scope}.{node.phase}")
    if arg is None:
        return None
    span = next((a.span for a in info.decl.args if a.name == arg), info.decl.span)
    return arg, info.args.get(arg), span
