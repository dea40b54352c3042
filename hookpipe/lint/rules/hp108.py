"""HP108: a checkpoint that records metrics fires where validation did not just run.

A checkpoint records metrics when it ranks by one: the built-in ``checkpoint``
with ``monitor`` stores the monitored value in its marker, but only a value from
the step it saves (the runtime never ranks weights by an older validation's
result). If validation did not run right before it (in the same phase, earlier in
the lowered order, at the same occurrence), that checkpoint is saved unranked:
``keep_best`` and ``--resume best`` never choose it. A checkpoint without
``monitor`` (and the seed's ``SaveCheckpoint``) records no metrics, so the common
"checkpoint every N steps, validate every epoch" is not flagged. Frequencies are
compared as arithmetic progressions; where the run's length is known only
firings inside it count. A pipeline with no metrics writer at all has nothing
to be stale, so it is left alone.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.internal_frequency import effective_guard
from hookpipe.compiler.loop import STEP_SCOPES, plural, validation_scope
from hookpipe.compiler.plan import Guard
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import grad_accumulation, most_updates, setting, warning

CODE = "HP108"
_MAX_FIRINGS = 10_000  # how far to look for the first stale firing


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    writers = [n for n in ctx.nodes if "metrics" in ctx.node_effects(n).writes]
    if not writers or ctx.plan is None:
        return
    position = _positions(ctx)
    for c in ctx.nodes:
        info = ctx.hooks[c.hook]
        if info.builtin is None or not info.builtin.saves_checkpoint or "metrics" not in info.effects.reads \
                or info.args.get("monitor") is None:
            continue
        before = [v for v in writers if v.key == c.key and position[v.id] < position[c.id]]
        if c.scope == "loop":
            covered = bool(before) or any(_fires_last(ctx, v) for v in writers if v.phase == "after")
            where = None if covered else "the end of the run"
        else:
            where = _first_stale(ctx, _guard(ctx, c), c.scope, [_guard(ctx, v) for v in before])
        if where is None:
            continue
        nearby = [v for v in writers if v.key == c.key] or writers
        notes = tuple(
            Note(f"`{v.hook}` writes metrics {_guard(ctx, v).describe() or 'every time'} in {v.scope}.{v.phase}",
                 v.span)
            for v in nearby
        )
        yield warning(
            CODE,
            f"checkpoint `{c.hook}` records metrics at {where}, where validation did not just run: "
            f"saved there, it is not ranked by `{info.args['monitor']}`",
            c.span,
            notes,
            help="attach validation right before the checkpoint in the same phase at a frequency that includes "
            "every checkpoint (e.g. checkpoint every 400 steps, validation every 200 steps)",
        )


def _guard(ctx: Compilation, node: Node) -> Guard:
    guard = effective_guard(ctx, node)
    if guard.unit == "update" and grad_accumulation(ctx) == 1:
        return Guard("step", guard.every, guard.start, guard.at_end)  # every step is an update
    return guard


def _positions(ctx: Compilation) -> dict[int, int]:
    """Each attachment's index in its phase's lowered order (the order that runs)."""
    assert ctx.plan is not None
    index = {(p.scope, p.phase, e.hook, e.span): i for p in ctx.plan.phases for i, e in enumerate(p.flat())}
    for hook, phases in ctx.plan.validation.items():  # a validation run's own phases, by the compiler's scope name
        index.update({(validation_scope(hook, p.scope), p.phase, e.hook, e.span): i
                      for p in phases for i, e in enumerate(p.flat())})
    return {n.id: index[(n.scope, n.phase, n.hook, n.span)] for n in ctx.nodes}


def _last(ctx: Compilation, unit: str) -> int | None:
    """The run's last occurrence of ``unit`` when one setting alone fixes it."""
    max_step, max_epoch = setting(ctx, "max_step"), setting(ctx, "max_epoch")
    if unit == "step" and max_step is not None and max_epoch is None:
        return int(max_step)
    if unit == "epoch" and max_epoch is not None and max_step is None:
        return int(max_epoch)
    return None


def _bound(ctx: Compilation, unit: str) -> int | None:
    if unit == "epoch":
        return setting(ctx, "max_epoch") or setting(ctx, "max_step")
    max_step = setting(ctx, "max_step")
    if unit == "update" and max_step is not None:  # the epoch length is unknown: a loose but safe bound
        return most_updates(ctx, int(max_step))
    return max_step


def _fires_last(ctx: Compilation, node: Node) -> bool:
    guard = _guard(ctx, node)
    if guard.unit is None or guard.at_end:
        return True
    last = _last(ctx, guard.unit)
    return last is not None and guard.fires(last)


def _subset(c: Guard, v: Guard) -> bool:
    """Every periodic firing of ``c`` is one of ``v``'s (both counted in one unit)."""
    return c.start >= v.start and (c.start - v.start) % v.every == 0 and c.every % v.every == 0


def _every_time(guard: Guard) -> bool:
    """Every step of a step phase: no guard, or ``every step`` / ``every batch`` over the whole run."""
    return guard.unit is None or guard.unit in ("step", "batch") and guard.every == 1 and guard.start == 1 \
        and guard.until is None


def _first_stale(ctx: Compilation, c: Guard, scope: str, validations: list[Guard]) -> str | None:
    """Where ``c`` first fires without one of ``validations`` firing at the same count; None if never."""
    if any(_every_time(v) if scope in STEP_SCOPES else v.unit is None for v in validations):
        return None
    if c.unit is None or scope in STEP_SCOPES and _every_time(c):  # every time the phase runs
        c = Guard("step" if scope in STEP_SCOPES else "epoch", 1, 1)
    usable = [v for v in validations if v.unit == c.unit]
    # The run's steps and the epoch's batches count alike in the first epoch, and part after it.
    other = [v for v in validations if {v.unit, c.unit} == {"step", "batch"}]
    if not usable and other and c.unit is not None and other[0].unit is not None:
        first = _first_stale(ctx, c, scope, [Guard(c.unit, v.every, v.start, v.at_end, v.until) for v in other])
        return first or (f"a {c.unit} of a later epoch (its {plural(c.unit)} and the validation's "
                         f"{plural(other[0].unit)} count alike only in the first epoch, unless every epoch's length "
                         f"is a multiple of {other[0].every})")
    if not any(_subset(c, v) for v in usable):
        bound = _bound(ctx, c.unit)  # type: ignore[arg-type]
        count = c.start
        for _ in range(_MAX_FIRINGS):
            if bound is not None and count > bound:
                break
            if not any(v.fires(count) for v in usable):
                return f"{c.unit} {count}"
            count += c.every
    if c.at_end and c.unit == "batch":  # `at end` of the epoch's batches: each epoch's last
        return None if any(v.at_end for v in usable) else "the last batch of an epoch"
    if c.at_end:
        last = _last(ctx, c.unit)  # type: ignore[arg-type]
        if last is None and not any(v.at_end for v in usable):
            return "the end of the run"
        if last is not None and not any(v.fires(last, is_last=True) for v in usable):
            return f"the end of the run ({c.unit} {last})"
    return None
