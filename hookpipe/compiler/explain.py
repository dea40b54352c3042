"""The lowered loop as readable pseudo-code, in the style of the seed's diagram.

Scopes nest as the runtime runs them; each phase lists its hooks in plan order
with type, frequency, ``on main`` and the ``.pipe`` line they came from.
"""

from __future__ import annotations

import os
from typing import Any

from hookpipe.compiler.plan import PhasePlan, Plan, PlanEntry
from hookpipe.compiler.schedule import Firing, update_only
from hookpipe.escaping import escape

#: How each scope opens, in the words of the seed's diagram.
_HEADS = {
    "loop": ["with on_loop:"],
    "epoch": ["for epoch_id in range(max_epoch):", "    with on_epoch:"],
    "step": ["for batch in dataloader:", "    with on_step:"],
    "batch": ["with on_batch:"],
    "forward": ["with on_model_forward:"],
    "backward": ["with on_model_backward:"],
}
_CHILDREN = {"loop": ("epoch",), "epoch": ("step",), "step": ("batch",), "batch": ("forward", "backward")}
_BODY = {"batch": "batch_processor(model, batch)  # forward + backward, under accelerator.accumulate"}


def explain_plan(plan: Plan) -> str:
    """Pseudo-code for the plan.

    Example:
        >>> from hookpipe.compiler import compile_text
        >>> print(explain_plan(compile_text('trainer { max_step = 1 }')).splitlines()[0])
        # pipeline <text>: max_step=1, grad_accumulation=1
    """
    t = plan.trainer
    limits = ", ".join(f"{k}={t[k]}" for k in ("max_epoch", "max_step") if t.get(k) is not None)
    name = plan.name or os.path.basename(plan.source)
    head = escape(f"# pipeline {name}: {limits}, grad_accumulation={t.get('grad_accumulation', 1)}")
    lines = [head, f"# plan {plan.content_hash[:12]}"]
    phases = {(p.scope, p.phase): p for p in plan.phases}
    # Hook types are strings from the file: escaped, so `"x\n::error ..."(...)` stays on its line.
    types = {h.name: escape(h.type if h.builtin else h.type.replace(":", ".")) for h in plan.hooks}
    _scope(lines, "loop", 0, phases, types, _Runs(plan))
    return "\n".join(lines)


def _update_only(plan: Plan) -> frozenset[str]:
    """Hooks that act only on steps ending in an optimizer update, said when accumulation makes that matter."""
    return update_only(plan) if int(plan.trainer.get("grad_accumulation") or 1) > 1 else frozenset()


class _Runs:
    """The validation runs' phases (``validation NAME { }``), printed under the first attachment of NAME."""

    def __init__(self, plan: Plan) -> None:
        self.phases = {name: {(p.scope, p.phase): p for p in ps} for name, ps in plan.validation.items()}
        self.shown: set[str] = set()
        #: Hooks to mark "on updates": under gradient accumulation they skip the other steps.
        self.update_only = _update_only(plan)

    def lines(self, hook: str, depth: int, types: dict[str, str]) -> list[str]:
        phases = self.phases.get(hook)
        if phases is None or hook in self.shown:
            return []
        self.shown.add(hook)
        pad = "    " * depth
        out = [f"{pad}with on_validation:  # validation {hook} {{ }}: its own run over its dataloader"]
        _phase(out, phases["validation", "before"], depth + 1, types, self)
        out.append(f"{pad}    for batch in {hook}.dataloader:  # validation batches (not training steps)")
        out.append(f"{pad}        with on_validation_batch:")
        _phase(out, phases["batch", "before"], depth + 3, types, self)
        out.append(f"{pad}            {hook}.callback(model, batch)  # outputs: args.model_outputs")
        _phase(out, phases["batch", "after"], depth + 3, types, self)
        out.append(f"{pad}    metrics = the mean of the outputs  # in `after`: args.model_outputs")
        _phase(out, phases["validation", "after"], depth + 1, types, self)
        return out


def _scope(lines: list[str], scope: str, depth: int, phases: dict[tuple[str, str], PhasePlan],
           types: dict[str, str], runs: _Runs) -> None:
    pad = "    " * depth
    heads = _HEADS[scope]
    lines.extend(pad + head for head in heads)
    inner = depth + len(heads)
    _phase(lines, phases[scope, "before"], inner, types, runs)
    if scope in _BODY:
        lines.append("    " * inner + _BODY[scope])
    for child in _CHILDREN.get(scope, ()):
        if child in ("forward", "backward") and not (phases[child, "before"].entries or phases[child, "after"].entries):
            continue
        _scope(lines, child, inner, phases, types, runs)
    _phase(lines, phases[scope, "after"], inner, types, runs)


def _phase(lines: list[str], phase: PhasePlan, depth: int, types: dict[str, str], runs: _Runs) -> None:
    if not phase.entries:
        return
    pad = "    " * depth
    lines.append(f"{pad}{phase.phase}:  # {phase.scope}.{phase.phase}")
    _entries(lines, phase.entries, depth + 1, types, runs)


def _entries(lines: list[str], entries: tuple[PlanEntry, ...], depth: int, types: dict[str, str],
             runs: _Runs) -> None:
    """Rows of hooks; a bracket opens ``with NAME:`` and indents what runs inside it."""
    pad = "    " * depth
    rows: list[tuple[str, str, str, str]] = []

    def flush() -> None:
        if not rows:
            return
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for hook, kind, when, where in rows:
            text = f"{hook:<{widths[0]}}  {kind:<{widths[1]}}  {when:<{widths[2]}}".rstrip()
            lines.append(f"{pad}{text}  # {where}")
        rows.clear()

    for e in entries:
        if e.inner is not None:
            flush()
            lines.append(f"{pad}with {escape(e.hook)}:  # {types.get(e.hook, '?')}: enter, then exit (also on error)  "
                         f"# {escape(e.span.file)}:{e.span.line}")
            _entries(lines, e.inner, depth + 1, types, runs)
            continue
        when = ", ".join(x for x in (e.guard.describe(), "on updates" if e.hook in runs.update_only else "",
                                     "on main" if e.main_only else "") if x)
        rows.append((escape(e.hook), types.get(e.hook, "?"), when, f"{escape(e.span.file)}:{e.span.line}"))
        nested = runs.lines(e.hook, depth + 1, types)
        if nested:
            flush()
            lines.extend(nested)
    flush()


def schedule_table(firings: list[Firing]) -> str:
    """One row per (step, phase) that fires something; consecutive steps that fire the
    same hooks in the same epoch share one row (``1-49``), so a long simulation stays
    as long as its pattern, not its step count (``--json`` keeps every firing).

    Steps are counted from 1, as the run counts them ("validation after 50 steps",
    ``step-00000050``, ``hookpipe diff``'s firings): ``every 50 steps`` is on row 50.
    Epochs are the 0-based ids the run prints ("(epoch 0)"), as Lightning's are.
    ``--json`` keeps the ids hooks receive (``global_step_id``: 49 there).
    """
    rows: list[tuple[int | None, int | None, str, list[str]]] = []
    for f in firings:
        phase = f"{f.scope}.{f.phase}"
        name = f.hook + (" (main)" if f.main_only else "")
        step = None if f.step is None else f.step + 1
        if rows and rows[-1][:3] == (step, f.epoch, phase):
            rows[-1][3].append(name)
        else:
            rows.append((step, f.epoch, phase, [name]))
    runs: list[list[Any]] = []  # [first step, last step, epoch, phase, hooks]
    for step, epoch, phase, hooks in rows:
        last = runs[-1] if runs else None
        if (last is not None and step is not None and last[1] is not None and step == last[1] + 1
                and (last[2], last[3], last[4]) == (epoch, phase, hooks)):
            last[1] = step
        else:
            runs.append([step, step, epoch, phase, hooks])
    cells = [(_span(first, final), "-" if epoch is None else str(epoch), phase, hooks)
             for first, final, epoch, phase, hooks in runs]
    width = max([6] + [len(c[0]) for c in cells])
    out = [f"{'step':>{width}}  {'epoch':>5}  {'phase':<16}  hooks"]
    for steps, epoch_text, phase, hooks in cells:
        out.append(f"{steps:>{width}}  {epoch_text:>5}  {phase:<16}  {', '.join(hooks)}")
    return "\n".join(out)


def _span(first: int | None, last: int | None) -> str:
    if first is None:
        return "-"
    return str(first) if first == last else f"{first}-{last}"
