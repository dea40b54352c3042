"""HP102: a step (or batch) frequency that is not a multiple of grad_accumulation.

With gradient accumulation G the optimizer updates only on every G-th step, so a
hook counted in steps whose firings are not all multiples of G runs between
updates: a checkpoint saves half-accumulated gradients, validation measures the
weights of the previous update. Counting in ``updates`` is the fix; a multiple
of G steps is one only while each epoch's batch count is a multiple of G
(accumulation windows restart at every epoch), so the help says so. The epoch's
``batches`` restart with the windows, so a multiple of G batches is exact. ``every
step`` (every micro-batch, on purpose) is left alone, and so is a frequency whose
``until`` comes before its first firing between updates, and a hook known to touch
none of the model's state (``log()``, a timer: it records a micro-batch).
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.internal_frequency import effective_guard
from hookpipe.compiler.loop import every, plural, split_validation_scope
from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl.span import Span
from hookpipe.lint.rules._common import grad_accumulation, setting_note, warning

CODE = "HP102"
#: What a hook must touch for its firing between updates to matter: the model's state.
MODEL_STATE = frozenset({"params", "grads", "optimizer_state", "ema"})


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    g = grad_accumulation(ctx)
    if g <= 1:
        return
    for node in ctx.nodes:
        guard = effective_guard(ctx, node)
        if guard.unit not in ("step", "batch") or (guard.every == 1 and guard.start == 1):
            continue
        if split_validation_scope(node.scope) is not None:
            continue  # a validation run's batches: no optimizer update happens among them
        if guard.every % g == 0 and guard.start % g == 0:
            continue
        if _records_only(ctx, node):
            continue
        first = _first_between(guard.start, guard.every, g)
        if guard.until is not None and first > guard.until:
            continue  # every firing before `until` is an update step
        # Where the frequency is written: the attachment's `every`, or the seed hook's argument.
        written = node.attachment.every
        where = written.span if written is not None else _argument_span(ctx, node)
        updates = max(1, round(guard.every / g))
        unit = guard.unit
        if unit == "batch":
            # The epoch's batches restart with the accumulation windows: a multiple of G is exact.
            fix = f"make it a multiple of {g} (`every {updates * g} batches`): updates come at those batches"
        else:
            # A multiple of G steps lines up with updates only while every epoch's batches are a multiple
            # of G: accelerate closes an accumulation window at each epoch's end, and the next one starts there.
            drift = (f"a multiple of {g} steps lines up with the updates only while each epoch's batch count is a "
                     f"multiple of {g} too (a window restarts at every epoch)")
            fix = (f"count in updates (`every {updates} update{'s' if updates != 1 else ''}`); {drift}"
                   if written is not None else f"make it a multiple of {g} (e.g. {updates * g}); {drift}")
        yield warning(
            CODE,
            f"`{node.hook}` fires {every(guard.every, unit)}"
            f"{f' from {unit} {guard.start}' if guard.start != guard.every else ''}"
            f"{f' until {unit} {guard.until}' if guard.until is not None else ''}, "
            f"but with grad_accumulation = {g} the optimizer updates every {g} {plural(unit)}: "
            f"it fires between updates (first at {unit} {first})",
            where,
            setting_note(ctx, "grad_accumulation"),
            help=fix,
        )


def _records_only(ctx: Compilation, node: Node) -> bool:
    """Whether the hook is known to touch nothing of the model's state (a logger, a timer, a loss tracker).

    Between updates such a hook records a micro-batch, as MMEngine's ``LoggerHook``
    and Lightning's logging do: nothing stale is saved or measured. A hook with no
    effects known (a user's class that declares none) could touch anything, so it
    is still judged.
    """
    effects = ctx.node_effects(node)
    touched = {*effects.reads, *effects.writes, *effects.consumes}
    known = ctx.hooks[node.hook].builtin is not None or bool(touched)
    return known and not touched & MODEL_STATE


def _argument_span(ctx: Compilation, node: Node) -> Span:
    info = ctx.hooks[node.hook]
    names = {arg for _, arg in info.builtin.step_frequency} if info.builtin is not None else set()
    return next((a.span for a in info.decl.args if a.name in names), node.span)


def _first_between(start: int, every: int, g: int) -> int:
    """The first firing (1-based step count) that is not an update step."""
    count = start
    while count % g == 0:
        count += every
    return count
