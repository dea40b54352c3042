"""HP102: a step frequency that is not a multiple of grad_accumulation.

With gradient accumulation G the optimizer updates only on every G-th step, so a
hook counted in steps whose firings are not all multiples of G runs between
updates: a checkpoint saves half-accumulated gradients, validation measures the
weights of the previous update. Counting in ``updates`` is the fix. ``every
step`` (every micro-batch, on purpose) is left alone.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.rules._common import grad_accumulation, setting_note, warning

CODE = "HP102"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    g = grad_accumulation(ctx)
    if g <= 1:
        return
    for node in ctx.nodes:
        guard = ctx.guards.get(node.id)
        if guard is None or guard.unit != "step" or (guard.every == 1 and guard.start == 1):
            continue
        if guard.every % g == 0 and guard.start % g == 0:
            continue
        every = node.attachment.every
        assert every is not None
        updates = max(1, round(guard.every / g))
        yield warning(
            CODE,
            f"`{node.hook}` fires every {guard.every} steps"
            f"{f' from step {guard.start}' if guard.start != guard.every else ''}, "
            f"but with grad_accumulation = {g} the optimizer updates every {g} steps: "
            f"it fires between updates (first at step {_first_between(guard.start, guard.every, g)})",
            every.span,
            setting_note(ctx, "grad_accumulation"),
            help=f"count in updates (`every {updates} update{'s' if updates != 1 else ''}`), "
            f"or use a multiple of {g} steps (`every {updates * g} steps`)",
        )


def _first_between(start: int, every: int, g: int) -> int:
    """The first firing (1-based step count) that is not an update step."""
    count = start
    while count % g == 0:
        count += every
    return count
