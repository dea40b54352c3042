"""Hover text: what a name means in this pipeline, from the catalog and the compilation.

Hook types show their arguments (type, default), effects and where they may
attach; hook names their declaration, effects and attachments; frequencies when
they fire in this run (from the plan's guards and the trainer's settings); codes
their rule page.
"""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.catalog import BUILTINS, HookType
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loop import VALIDATION, split_validation_scope
from hookpipe.compiler.plan import EFFECT_KINDS, Effects, Guard
from hookpipe.dsl import ast
from hookpipe.escaping import escape
from hookpipe.lint.pages import page
from hookpipe.lsp.index import Index, Occurrence

#: How many firings a frequency's hover lists before "...".
FIRST_FIRINGS = 5


def code_span(text: str) -> str:
    """``text`` (escaped) as a Markdown code span no backtick inside it can close.

    Hover text quotes the user's strings and names; a backtick, a newline or a code
    fence in a ``use`` string must not end the span and render the rest as
    Markdown (a link, a remote image).
    """
    shown = escape(text)
    ticks = "`" * (_longest_run(shown, "`") + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{ticks}{pad}{shown}{pad}{ticks}"


def code_block(text: str, language: str = "pipe") -> str:
    """``text`` (escaped, so one line stays one line) in a fence longer than any backtick run inside."""
    shown = escape(text)
    fence = "`" * max(3, _longest_run(shown, "`") + 1)
    return f"{fence}{language}\n{shown}\n{fence}"


def _longest_run(text: str, ch: str) -> int:
    best = run = 0
    for c in text:
        run = run + 1 if c == ch else 0
        best = max(best, run)
    return best


def hover_text(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    """Markdown for the occurrence under the cursor, None when there is nothing to say."""
    handler = _HANDLERS.get(occ.kind)
    return handler(occ, ctx, index) if handler else None


def describe_type(hook_type: HookType) -> str:
    """A built-in's arguments, effects and phases, as markdown."""
    lines = [f"**`{hook_type.name}`** (built-in hook type): {hook_type.summary}", "", "Arguments:"]
    for name, info in hook_type.schema.model_fields.items():
        default = "required" if info.is_required() else f"default `{info.default!r}`"
        lines.append(f"- `{name}`: `{_type_name(info.annotation)}`, {default}")
    lines += ["", f"Effects: {_effects(hook_type.effects)}", "",
              "Attaches to: " + (", ".join(f"`{p}`" for p in hook_type.phases)
                                 if "*" not in hook_type.phases else "any phase")]
    if hook_type.collective:
        lines += ["", "Needs every process (a collective): never `on main`."]
    return "\n".join(lines)


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    return text or str(annotation).replace("typing.", "")


def _effects(effects: Effects) -> str:
    parts = [f"{kind} {', '.join(f'`{r}`' for r in names)}"
             for kind in EFFECT_KINDS if (names := effects.of(kind))]
    return "; ".join(parts) or "none declared"


def _hook_type(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    builtin = BUILTINS.get(occ.name)
    return describe_type(builtin) if builtin else None


def _hook(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    info = ctx.hooks.get(occ.name)
    if info is None:
        return None
    decl = info.decl
    first = (ctx.sources.line(decl.span.file, decl.span.line) or "").strip()
    lines = [code_block(first), f"Type: {code_span(info.type_name)}{' (built-in)' if info.builtin else ''}",
             f"Effects: {_effects(info.effects)}"]
    attached = [n for n in ctx.nodes if n.hook == occ.name]
    if attached:
        lines.append("Attached in: " + ", ".join(
            f"`{n.scope}.{n.phase}`" + (f" {ctx.guards[n.id].describe()}" if n.id in ctx.guards and
                                        ctx.guards[n.id].describe() else "") for n in attached))
    else:
        lines.append("Not attached anywhere (HP103).")
    return "\n\n".join(lines)


def _argument(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    builtin = BUILTINS.get(occ.owner or "")
    if builtin is None or occ.name not in builtin.schema.model_fields:
        return None
    info = builtin.schema.model_fields[occ.name]
    default = "required" if info.is_required() else f"default `{info.default!r}`"
    return f"`{occ.name}`: `{_type_name(info.annotation)}`, {default} (argument of `{builtin.name}`)"


def _alias(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    use = ctx.uses.get(occ.name)
    if use is None:
        return None
    return code_block(f'use {use.alias} = "{use.module}"') + "\nA Python module, imported only by `hookpipe run`."


def _include(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    return (f"Includes {code_span(occ.name)} (relative to this file): its hooks, blocks and trainer settings "
            "merge into this pipeline.")


def _frequency(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    attachment = occ.node
    if not isinstance(attachment, ast.Attachment):
        return None
    node = index.nodes.get(attachment.span)
    guard = ctx.guards.get(node.id) if node is not None else None
    if node is None or guard is None or guard.unit is None:
        return None
    validation = split_validation_scope(node.scope) is not None
    return (f"{code_span(node.hook)} in `{node.scope}.{node.phase}`: {guard.describe()}\n\n"
            f"{firings(guard, ctx.trainer, validation)}")


def firings(guard: Guard, trainer: dict[str, Any], validation: bool = False) -> str:
    """When a guard fires in a run with these trainer settings, in the unit's 0-based ids.

    ``validation``: the guard is in a validation run's scopes (``batch`` counts its batches,
    not the epoch's).

    Example:
        >>> firings(Guard("step", 200, 200), {"max_step": 1000})
        'Fires at global_step_id 199, 399, 599, 799, 999: 5 times in this run (max_step = 1000).'
    """
    assert guard.unit is not None
    bound, key = _bound(guard, trainer, validation)
    counts: list[int] = []
    c = guard.start
    until = guard.until
    while len(counts) <= FIRST_FIRINGS and (bound is None or c <= bound) and (until is None or c <= until):
        counts.append(c)
        c += guard.every
    shown = counts[:FIRST_FIRINGS]
    label = {"step": "global_step_id", "epoch": "epoch_id", "update": "optimizer update",
             "batch": "validation batch id" if validation else "step_id"}[guard.unit]
    ids = [str(n - 1) if guard.unit != "update" else f"#{n}" for n in shown]
    more = ", ..." if len(counts) > FIRST_FIRINGS else ""
    at_end = ""
    if guard.at_end and bound is not None and not guard.fires(bound):
        at_end = f", and at the end ({label} {bound - 1 if guard.unit != 'update' else f'#{bound}'})"
    if guard.unit == "batch" and validation:  # a validation run's batches: their number is the loader's
        return (f"Fires at {label} {', '.join(ids)}{more} of each validation run"
                f"{' and on its last batch' if guard.at_end else ''} (validation batches, not training steps).")
    if guard.unit == "batch" and not ids and not guard.at_end:
        return (f"Never fires in this run: the first firing is batch {guard.start} of an epoch, "
                f"beyond {key} = {bound} (HP101).")
    if guard.unit == "batch":  # the epoch's batches: the count starts again with every epoch
        return (f"Fires at {label} {', '.join(ids)}{more} of each epoch"
                f"{' and on its last batch' if guard.at_end else ''} (the epoch's batches: `step_id` counts "
                "from 0 again at every epoch).")
    if bound is None:
        return f"Fires at {label} {', '.join(ids)}{more}{' and at the end of the run' if guard.at_end else ''}."
    last = bound if until is None else min(bound, until)
    total = 0 if last < guard.start else (last - guard.start) // guard.every + 1
    total += bool(at_end)
    if not ids and not at_end:
        return (f"Never fires in this run: the first firing is {guard.unit} {guard.start}, "
                f"beyond {key} = {bound} (HP101).")
    where = ", ".join(ids) + more
    return (f"Fires at {label} {where}{at_end}: {total} time{'s' if total != 1 else ''} in this run ({key} = {bound}).")


def _bound(guard: Guard, trainer: dict[str, Any], validation: bool = False) -> tuple[int | None, str]:
    """The most occurrences of the guard's unit in the run, and the setting that says so."""
    if guard.unit == "epoch" and trainer.get("max_epoch"):
        return int(trainer["max_epoch"]), "max_epoch"
    # an epoch has at most max_step batches (a validation run's are its loader's)
    if (guard.unit == "step" or guard.unit == "batch" and not validation) and trainer.get("max_step"):
        return int(trainer["max_step"]), "max_step"
    return None, ""


def _code(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    try:
        return page(occ.name)
    except FileNotFoundError:
        return None


def _unit(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    return _frequency(occ, ctx, index)


def _scope(occ: Occurrence, ctx: Compilation, index: Index) -> str | None:
    """A validation block's keyword, or the ``batch`` scope inside one: what they open."""
    block = occ.node
    if isinstance(block, ast.ScopeBlock) and block.name == VALIDATION and block.target is not None:
        return (f"{code_span(f'validation {block.target}')}: the scopes of {code_span(block.target)}'s own "
                "validation run over its dataloader. `before` runs once before the first batch, "
                "`batch { before { } after { } }` around each validation batch (`args.batch`, `args.step_id` its "
                "0-based id, `args.model_outputs` the callback's per-sample values after it), `after` once the "
                "metrics are computed (`args.model_outputs`). Frequencies count `batches`; a custom hook defines "
                "`on_validation_begin`/`_end` and `on_validation_batch_begin`/`_end`.")
    if isinstance(block, ast.ScopeBlock) and block.name == "batch" and occ.owner == VALIDATION:
        return ("`batch` of a validation run: one validation batch (ids from 0, counted by `every N batches`; "
                "not a training step).")
    return None


_HANDLERS = {
    "type": _hook_type, "hook": _hook, "argument": _argument, "alias": _alias, "include": _include,
    "frequency": _frequency, "unit": _unit, "code": _code, "scope": _scope,
}
