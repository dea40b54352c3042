"""Pass: check every attachment's frequency and turn it into a ``Guard``.

Units are counted as ``docs/reference.md`` says: steps (micro-batches, 0-based ids,
so the c-th step is ``global_step_id + 1``), optimizer updates, epochs, and batches
(the epoch's, ``step_id + 1``, in a training step's scopes; a validation run's in its
own). A unit must make sense where it is attached (HP007).
"""

from __future__ import annotations

from functools import lru_cache

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.loop import Unit, plural, scope_units, split_validation_scope
from hookpipe.compiler.plan import Guard
from hookpipe.compiler.suggest import did_you_mean

#: Each spelling a frequency may use, by the unit it counts.
UNIT_SPELLINGS: dict[str, Unit] = {
    "step": "step", "steps": "step",
    "update": "update", "updates": "update",
    "epoch": "epoch", "epochs": "epoch",
    "batch": "batch", "batches": "batch",
}


def check_frequencies(ctx: Compilation) -> None:
    guards = ctx.guards
    for node in ctx.nodes:
        a = node.attachment
        if a.every is None and a.start is None and a.until is None and not a.at_end and a.on is None:
            guards[node.id] = _ALWAYS
            continue
        guard = _guard(ctx, node)
        if guard is not None:
            guards[node.id] = guard


#: Guards are immutable values, so equal ones are shared: 50,000 attachments with a
#: dozen frequencies between them make a dozen Guards.
_ALWAYS = Guard()
_shared_guard = lru_cache(maxsize=1024)(Guard)


def _guard(ctx: Compilation, node: Node) -> Guard | None:
    a = node.attachment
    if a.on is not None and a.on != "main":
        ctx.error("HP002", f"unknown process `{a.on}`", a.on_span or a.span,
                  help=did_you_mean(a.on, ["main"]) or "the only process name is `main`")
    if a.every is None:
        if a.start is not None:
            ctx.error("HP007", "`from` needs a frequency", a.start_span or a.span,
                      help="write e.g. `every 100 steps from 500`")
            return None
        if a.until is not None:
            ctx.error("HP007", "`until` needs a frequency", a.until_span or a.span,
                      help="write e.g. `every 10 epochs until 285`")
            return None
        if a.at_end:
            ctx.error("HP007", "`and at end` needs a frequency", a.span,
                      help="without `every ...` the hook already runs every time, the last one included")
            return None
        return _ALWAYS
    unit = UNIT_SPELLINGS.get(a.every.unit)
    if unit is None:
        # The spelling that reads with the count: `every 5 stepz` -> `steps`, `every stepz` -> `step`.
        many = a.every.count is not None and a.every.count != 1
        spellings = [name for name in UNIT_SPELLINGS if (UNIT_SPELLINGS[name] != name) == many]
        ctx.error("HP007", f"unknown frequency unit `{a.every.unit}`", a.every.unit_span,
                  help=did_you_mean(a.every.unit, spellings) or "units: steps, updates, epochs, batches")
        return None
    count = 1 if a.every.count is None else a.every.count
    ok = True
    if count <= 0:
        ctx.error("HP007", f"frequency must be positive, got {count}", a.every.span,
                  help="`every 1 step` is the same as no frequency")
        ok = False
    if a.start is not None and a.start <= 0:
        ctx.error("HP007", f"`from` must be positive, got {a.start}", a.start_span or a.span,
                  help="occurrences are counted from 1")
        ok = False
    first = count if a.start is None else a.start
    if a.until is not None and a.until <= 0:
        ctx.error("HP007", f"`until` must be positive, got {a.until}", a.until_span or a.span,
                  help="occurrences are counted from 1: `until N` fires up to the N-th")
        ok = False
    elif a.until is not None and ok and a.until < first:
        ctx.error("HP007", f"`until {a.until}` is below the first firing ({first}): it never fires",
                  a.until_span or a.span,
                  help=f"`until` counts occurrences like `from`; write `until` {first} or more")
        ok = False
    allowed = scope_units(node.scope)
    if unit not in allowed:
        validation = split_validation_scope(node.scope)
        if validation is not None:
            reason = ("it runs once per validation" if not allowed
                      else "a validation run's batches are counted in batches, not training steps")
        else:
            names = [plural(u) for u in allowed]
            reason = ("the loop phases run once" if not allowed else f"phases of `{node.scope}` count "
                      + (f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]))
        written = f"every {a.every.unit}" if a.every.count is None else f"every {a.every.count} {a.every.unit}"
        ctx.error("HP007", f"`{written}` makes no sense in {node.scope}.{node.phase}: {reason}",
                  a.every.span, help=_move_help(unit, validation is not None))
        ok = False
    if not ok:
        return None
    return _shared_guard(unit, count, first, a.at_end, a.until)


def _move_help(unit: str, in_validation: bool = False) -> str:
    if in_validation:
        return ("inside a validation block, write `every N batches` in `batch { after { ... } }`; to validate "
                "every N steps or epochs, put that on the validation hook's attachment in the loop")
    if unit == "batch":
        return ("`batches` count the epoch's batches: attach it in `step { after { ... } }`, or in "
                "`validation NAME { batch { ... } }` to count a validation run's")
    if unit == "epoch":
        return "attach it in `epoch { after { ... } }` to run every N epochs"
    return "attach it in `step { after { ... } }` to run every N steps or updates"
