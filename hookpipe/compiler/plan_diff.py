"""What a change does to a pipeline: two compilations compared as plans, not as text.

A reviewer needs to know what the training loop will do differently, and the
text of a ``.pipe`` file hides it: an included file changes every includer's
plan, an ``order`` statement or an effect declaration moves hooks it never
names. So both sides are compiled (includes, merging, lowering) and compared:

- per phase, attachments added, removed and moved. An attachment is a hook's
  k-th attachment in that phase on both sides; *moved* ones are the fewest whose
  relative order changed (the rest keep their order: a longest increasing
  subsequence), each with the attachments it now runs on the other side of and
  the ordering edges, with their origins, that put it there on each side;
- frequency and ``on main`` changes, with the first three firings of each side
  from ``Guard.fires`` (what ``explain --steps`` and the runtime use);
- hooks added or removed, and their type, arguments and effects;
- trainer settings, and the run-time values (``run.steps``, ``run.updates``...)
  those settings change, with who uses them;
- lint findings introduced and fixed (computed by the caller: the lint package
  sits above the compiler), matched by code, file and message, not line.

Equal content hashes are "no change to the plan" and nothing else is compared.
Everything here is plain data (``to_json``); ``hookpipe.commands.diff_formats``
prints it and ``hookpipe.render.diff`` draws it.
"""

from __future__ import annotations

import os
import posixpath
from bisect import bisect_left
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from hookpipe.compiler.context import Compilation, OrderGraph, Origin
from hookpipe.compiler.graph import hook_successors
from hookpipe.compiler.loop import plural, split_validation_scope
from hookpipe.compiler.lower import declaration_order
from hookpipe.compiler.plan import Guard, HookSpec, Plan, PlanEntry, phase_order
from hookpipe.compiler.run_values import RUN_KEY, run_steps
from hookpipe.compiler.settings import TrainerSettings
from hookpipe.diagnostics import Diagnostic

__all__ = ["AttachmentRef", "FileDiff", "Finding", "Flip", "FrequencyChange", "HookChange", "Move", "PhaseDiff",
           "RunValueChange", "SideError", "ValueChange", "diff_compilations", "first_firings", "value_text"]

#: Flipped neighbours listed per moved attachment; the rest are counted.
MAX_FLIPS = 8
#: Moved attachments explained with the edges that moved them (a path search each);
#: past this many (a phase turned upside down) the others are listed with counts only.
MAX_EXPLAINED = 64
#: Trainer settings each run-time value is computed from (docs/language.md, "Run-time values").
RUN_INPUTS: dict[str, tuple[str, ...]] = {
    "steps": ("max_step", "max_epoch", "dataloader"),
    "updates": ("max_step", "max_epoch", "grad_accumulation", "dataloader"),
    "steps_per_epoch": ("dataloader",),
    "updates_per_epoch": ("grad_accumulation", "dataloader"),
}

Key = tuple[str, int]  # (hook, k-th attachment of it in the phase)


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """An attachment on one side: its 1-based position in the phase's lowered order."""

    hook: str
    occurrence: int
    position: int
    when: str  # the guard as ``explain`` prints it, plus "on main"
    where: str  # file:line

    def to_json(self) -> dict[str, Any]:
        return {"hook": self.hook, "occurrence": self.occurrence, "position": self.position, "when": self.when,
                "where": self.where}


@dataclass(frozen=True, slots=True)
class Flip:
    """An attachment that the moved one ran on one side of and now runs on the other."""

    other: str
    now: str  # "before" | "after": where the moved attachment runs relative to ``other`` at HEAD
    head_reasons: tuple[str, ...]
    base_reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"other": self.other, "now": self.now, "head_reasons": list(self.head_reasons),
                "base_reasons": list(self.base_reasons)}


@dataclass(frozen=True, slots=True)
class Move:
    hook: str
    occurrence: int
    base_position: int
    head_position: int
    where: str
    flips: tuple[Flip, ...]
    more_flips: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"hook": self.hook, "occurrence": self.occurrence, "base_position": self.base_position,
                "head_position": self.head_position, "where": self.where,
                "flips": [f.to_json() for f in self.flips], "more_flips": self.more_flips}


@dataclass(frozen=True, slots=True)
class FrequencyChange:
    hook: str
    occurrence: int
    base: str
    head: str
    base_firings: str
    head_firings: str
    where: str

    def to_json(self) -> dict[str, Any]:
        return {"hook": self.hook, "occurrence": self.occurrence, "base": self.base, "head": self.head,
                "base_firings": self.base_firings, "head_firings": self.head_firings, "where": self.where}


@dataclass
class PhaseDiff:
    scope: str
    phase: str
    added: list[AttachmentRef] = field(default_factory=list)
    removed: list[AttachmentRef] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    frequency: list[FrequencyChange] = field(default_factory=list)
    base_order: list[str] = field(default_factory=list)
    head_order: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.phase}"

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.frequency)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.key, "added": [a.to_json() for a in self.added],
                "removed": [a.to_json() for a in self.removed], "moved": [m.to_json() for m in self.moved],
                "frequency": [f.to_json() for f in self.frequency], "base_order": self.base_order,
                "head_order": self.head_order}


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A key whose value differs; ``None`` text means absent on that side."""

    key: str
    base: str | None
    head: str | None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "base": self.base, "head": self.head}


@dataclass
class HookChange:
    name: str
    status: str  # "added" | "removed" | "changed"
    where: str  # file:line of the declaration (HEAD's, BASE's for a removed hook)
    type: ValueChange | None = None
    args: list[ValueChange] = field(default_factory=list)
    effects: list[ValueChange] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "where": self.where,
                "type": self.type.to_json() if self.type else None,
                "args": [a.to_json() for a in self.args], "effects": [e.to_json() for e in self.effects]}


@dataclass(frozen=True, slots=True)
class RunValueChange:
    """A run-time value the changed trainer settings change, and what reads it."""

    name: str  # "run.steps"
    base: str
    head: str
    because: tuple[str, ...]
    used_by: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "head": self.head, "because": list(self.because),
                "used_by": list(self.used_by)}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str
    message: str
    where: str

    @classmethod
    def of(cls, d: Diagnostic) -> "Finding":
        return cls(d.code, d.severity, d.message, f"{d.span.file}:{d.span.line}")

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "where": self.where}


@dataclass(frozen=True, slots=True)
class SideError:
    """A side that does not compile: its errors, first ones first."""

    side: str  # "base" | "head"
    errors: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {"side": self.side, "errors": [e.to_json() for e in self.errors]}


@dataclass
class FileDiff:
    """One file's comparison. ``status``: unchanged, changed, added, removed or error."""

    file: str
    status: str
    base_hash: str | None = None
    head_hash: str | None = None
    errors: list[SideError] = field(default_factory=list)
    name: ValueChange | None = None
    phases: list[PhaseDiff] = field(default_factory=list)
    hooks: list[HookChange] = field(default_factory=list)
    trainer: list[ValueChange] = field(default_factory=list)
    run_values: list[RunValueChange] = field(default_factory=list)
    introduced: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)

    @property
    def plan_changed(self) -> bool:
        """What ``--exit-code`` reports: a different plan, a side that does not compile, a file added or removed."""
        return self.status != "unchanged"

    @property
    def order_changes(self) -> int:
        return sum(len(p.added) + len(p.removed) + len(p.moved) + len(p.frequency) for p in self.phases)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "status": self.status, "base_hash": self.base_hash, "head_hash": self.head_hash,
            "errors": [e.to_json() for e in self.errors], "name": self.name.to_json() if self.name else None,
            "phases": [p.to_json() for p in self.phases if p.changed], "hooks": [h.to_json() for h in self.hooks],
            "trainer": [t.to_json() for t in self.trainer], "run_values": [r.to_json() for r in self.run_values],
            "lint": {"introduced": [f.to_json() for f in self.introduced],
                     "fixed": [f.to_json() for f in self.fixed]},
        }


# --- entry point -------------------------------------------------------------------------------


def diff_compilations(file: str, base: Compilation | None, head: Compilation | None,
                      base_findings: Sequence[Diagnostic] = (), head_findings: Sequence[Diagnostic] = ()
                      ) -> FileDiff:
    """Compare ``file`` at BASE and HEAD; None is a side where the file does not exist.

    A side with errors is reported with its errors and nothing else is compared.
    ``*_findings`` are the lint diagnostics of each side (``lint_compilation``).

    Example:
        >>> from hookpipe.compiler.pipeline import run_passes
        >>> from hookpipe.compiler.loader import load_text
        >>> text = 'trainer {{ max_step = {} }}'
        >>> a, b = (run_passes(load_text(text.format(n), "t.pipe"), "t.pipe") for n in (10, 20))
        >>> [(c.key, c.base, c.head) for c in diff_compilations("t.pipe", a, b).trainer]
        [('max_step', '10', '20')]
    """
    out = FileDiff(file, "changed")
    for side, ctx in (("base", base), ("head", head)):
        if ctx is not None and (ctx.plan is None or any(d.severity == "error" for d in ctx.diagnostics)):
            errors = sorted((d for d in ctx.diagnostics if d.severity == "error"), key=Diagnostic.sort_key)
            out.errors.append(SideError(side, tuple(Finding.of(d) for d in errors)))
    out.base_hash = base.plan.content_hash if base is not None and base.plan is not None else None
    out.head_hash = head.plan.content_hash if head is not None and head.plan is not None else None
    _lint(out, base_findings, head_findings, base.main if base else "", head.main if head else "")
    if out.errors:
        out.status = "error"
        return out
    if base is None and head is None:
        raise ValueError(f"{file}: neither side exists")
    if base is not None and head is not None and out.base_hash == out.head_hash:
        out.status = "unchanged"
        return out
    out.status = "added" if base is None else "removed" if head is None else "changed"
    base_plan = base.plan if base is not None else None
    head_plan = head.plan if head is not None else None
    base_name, head_name = (p.name if p is not None else None for p in (base_plan, head_plan))
    if base_plan is not None and head_plan is not None and base_name != head_name:
        out.name = ValueChange("pipeline", base_name, head_name)
    keys = list(phase_order())
    for other in (base, head):  # validation runs' phases (`validation NAME { }`), as the compiler names them
        keys += [k for k in (other.phase_keys() if other is not None else []) if k not in keys]
    for scope, phase in keys:
        out.phases.append(_phase(scope, phase, base, head))
    out.hooks = _hooks(base_plan, head_plan)
    out.trainer = _mapping(_set(base_plan, head_plan), _set(head_plan, base_plan))
    if base_plan is not None and head_plan is not None:
        out.run_values = _run_values(base_plan, head_plan, out.trainer)
    return out


# --- phases ------------------------------------------------------------------------------------


@dataclass
class _Side:
    """One side of one phase: attachments by key in lowered order, with graph node ids."""

    ctx: Compilation | None
    graph: OrderGraph | None
    keys: list[Key]
    entries: dict[Key, PlanEntry]
    nodes: dict[Key, int]
    position: dict[Key, int]

    @classmethod
    def of(cls, ctx: Compilation | None, scope: str, phase: str) -> "_Side":
        if ctx is None or ctx.plan is None:
            return cls(ctx, None, [], {}, {}, {})
        split = split_validation_scope(scope)
        if split is None:
            entries = ctx.plan.phase(scope, phase).flat()
        else:  # a validation run's phase: absent on a side without that block
            found = ctx.plan.validation_phase(split[0], split[1], phase)
            entries = found.flat() if found is not None else ()
        graph = ctx.graphs.get((scope, phase))
        ids = ctx.phase_orders.get((scope, phase)) or (declaration_order(graph) if graph is not None else [])
        seen: Counter[str] = Counter()
        keys: list[Key] = []
        for entry in entries:
            seen[entry.hook] += 1
            keys.append((entry.hook, seen[entry.hook]))
        side = cls(ctx, graph, keys, dict(zip(keys, entries)), dict(zip(keys, ids)), {})
        side.position = {k: i + 1 for i, k in enumerate(keys)}
        return side

    def ref(self, key: Key) -> AttachmentRef:
        entry = self.entries[key]
        return AttachmentRef(key[0], key[1], self.position[key], _when(entry.guard, entry.main_only),
                             _where(entry))


def _phase(scope: str, phase: str, base_ctx: Compilation | None, head_ctx: Compilation | None) -> PhaseDiff:
    base, head = _Side.of(base_ctx, scope, phase), _Side.of(head_ctx, scope, phase)
    out = PhaseDiff(scope, phase, base_order=[_label(k) for k in base.keys],
                    head_order=[_label(k) for k in head.keys])
    out.removed = [base.ref(k) for k in base.keys if k not in head.entries]
    out.added = [head.ref(k) for k in head.keys if k not in base.entries]
    common = [k for k in base.keys if k in head.entries]
    kept = _longest_in_order(common, head.position)
    for key in common:
        b, h = base.entries[key], head.entries[key]
        if b.guard != h.guard or b.main_only != h.main_only:
            before, after = (_when(e.guard, e.main_only) or "every time" for e in (b, h))
            validation = split_validation_scope(scope) is not None
            out.frequency.append(FrequencyChange(key[0], key[1], before, after, first_firings(b.guard, validation),
                                                 first_firings(h.guard, validation), _where(h)))
    moved = [k for k in common if k not in kept]
    for number, key in enumerate(sorted(moved, key=lambda k: head.position[k])):
        flips = [other for other in common if other != key
                 and (base.position[other] < base.position[key]) != (head.position[other] < head.position[key])]
        flips.sort(key=lambda o: abs(head.position[o] - head.position[key]))
        shown = MAX_FLIPS if number < MAX_EXPLAINED else 0
        listed = tuple(_flip(key, other, base, head) for other in flips[:shown])
        out.moved.append(Move(key[0], key[1], base.position[key], head.position[key], _where(head.entries[key]),
                              listed, len(flips) - len(listed)))
    return out


def _longest_in_order(common: list[Key], head_position: dict[Key, int]) -> set[Key]:
    """The largest set of ``common`` (in base order) whose HEAD positions increase: they did not move."""
    tails: list[int] = []
    tail_index: list[int] = []
    parent: list[int] = [-1] * len(common)
    for i, key in enumerate(common):
        p = head_position[key]
        j = bisect_left(tails, p)
        if j == len(tails):
            tails.append(p)
            tail_index.append(i)
        else:
            tails[j] = p
            tail_index[j] = i
        parent[i] = tail_index[j - 1] if j > 0 else -1
    kept: set[Key] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        kept.add(common[i])
        i = parent[i]
    return kept


def _flip(key: Key, other: Key, base: _Side, head: _Side) -> Flip:
    now = "before" if head.position[key] < head.position[other] else "after"
    first_head, second_head = (key, other) if now == "before" else (other, key)
    first_base, second_base = second_head, first_head
    return Flip(_label(other), now, _reasons(head, first_head, second_head), _reasons(base, first_base, second_base))


def _reasons(side: _Side, first: Key, second: Key) -> tuple[str, ...]:
    """Why ``first`` runs before ``second`` on this side: the edges of the shortest path between them."""
    graph = side.graph
    u, v = side.nodes.get(first), side.nodes.get(second)
    if graph is None or u is None or v is None:
        return ()
    previous: dict[int, tuple[int, dict[Origin, None]]] = {}
    queue = deque([u])
    while queue and v not in previous:
        node = queue.popleft()
        for nxt, origins in hook_successors(graph, node).items():
            if nxt not in previous and nxt != u:
                previous[nxt] = (node, origins)
                queue.append(nxt)
    if v not in previous:
        return ("no edge orders them: ties follow declaration order",)
    path: list[tuple[int, int, dict[Origin, None]]] = []
    node = v
    while node != u:
        before, origins = previous[node]
        path.append((before, node, origins))
        node = before
    ctx = side.ctx
    assert ctx is not None
    names = {n: ctx.nodes[n].hook for n in (u, v, *(p[0] for p in path))}
    out = []
    for before, after, origins in reversed(path):
        why = "; ".join(describe_origin(o) for o in origins)
        out.append(why if len(path) == 1 else f"{names[before]} -> {names[after]}: {why}")
    return tuple(out)


def describe_origin(origin: Origin) -> str:
    """An edge's origin as a reviewer reads it: the statement with its file:line, or the effect rule."""
    if origin.kind == "effect":
        return f"effect rule: {origin.resource} ({origin.relation})"
    where = f" at {origin.span.file}:{origin.span.line}" if origin.span is not None else ""
    if origin.kind == "written":
        return f"written order{where}"
    if origin.kind == "bracket":
        return f"inside a bracket{where}"
    return f"`{origin.kind}` statement{where}"


# --- frequencies -------------------------------------------------------------------------------


def first_firings(guard: Guard, validation: bool = False, count: int = 3) -> str:
    """The first ``count`` occurrences of the guard's unit it fires at (1-based, as ``from`` counts).

    ``validation``: the guard is in a validation run's scopes, whose batches are that run's.

    Example:
        >>> first_firings(Guard("step", 200, 100))
        'steps 100, 300, 500'
        >>> first_firings(Guard("batch", 3, 3, at_end=True))
        "batches 3, 6, 9 of each epoch, and at each epoch's last batch"
        >>> first_firings(Guard())
        'every time the phase runs'
    """
    if guard.unit is None:
        return "every time the phase runs"
    found: list[int] = []
    limit = max(1, guard.start) + count * max(1, guard.every)
    occurrence = 1
    while occurrence <= limit and len(found) < count:
        if guard.fires(occurrence):
            found.append(occurrence)
        occurrence += 1
    units = plural(guard.unit)
    text = f"{units} {', '.join(map(str, found))}" if found else f"no {guard.unit} before the end"
    if guard.unit == "batch":  # counted from 1 again in every pass over the loader
        per = "validation run" if validation else "epoch"
        text = (text if found else "no batch") + f" of each {per}"
        return text + (f", and at each {per}'s last batch" if guard.at_end else "")
    return text + (", and at the end" if guard.at_end else "")


def _when(guard: Guard, main_only: bool) -> str:
    return ", ".join(x for x in (guard.describe(), "on main" if main_only else "") if x)


def _where(entry: PlanEntry) -> str:
    return f"{entry.span.file}:{entry.span.line}"


def _label(key: Key) -> str:
    return key[0] if key[1] == 1 else f"{key[0]}#{key[1]}"


# --- hooks, settings, run values ---------------------------------------------------------------


def _hooks(base: Plan | None, head: Plan | None) -> list[HookChange]:
    before = {h.name: h for h in base.hooks} if base else {}
    after = {h.name: h for h in head.hooks} if head else {}
    out: list[HookChange] = []
    for name in [*before, *(n for n in after if n not in before)]:
        b, h = before.get(name), after.get(name)
        if b is None or h is None:
            spec = h if h is not None else b
            assert spec is not None
            out.append(HookChange(name, "added" if b is None else "removed", _decl(spec),
                                  ValueChange("type", None, spec.type) if b is None
                                  else ValueChange("type", spec.type, None),
                                  _mapping({} if b is None else spec.args, {} if h is None else spec.args),
                                  _effects(b, h)))
            continue
        change = HookChange(name, "changed", _decl(h))
        if (b.type, b.builtin) != (h.type, h.builtin):
            change.type = ValueChange("type", b.type, h.type)
        change.args = _mapping(b.args, h.args)
        change.effects = _effects(b, h)
        if b.collective != h.collective:
            change.effects.append(ValueChange("collective", str(b.collective).lower(), str(h.collective).lower()))
        if change.type or change.args or change.effects:
            out.append(change)
    return out


def _decl(spec: HookSpec) -> str:
    return f"{spec.span.file}:{spec.span.line}"


def _effects(base: HookSpec | None, head: HookSpec | None) -> list[ValueChange]:
    out = []
    for kind in ("reads", "writes", "consumes"):
        b = set(getattr(base.effects, kind)) if base else set()
        h = set(getattr(head.effects, kind)) if head else set()
        if b != h:
            out.append(ValueChange(kind, ", ".join(sorted(b)) or None, ", ".join(sorted(h)) or None))
    return out


def _set(plan: Plan | None, other: Plan | None) -> dict[str, Any]:
    """A plan's trainer settings; of a file that exists on one side only, those it sets (not defaults)."""
    if plan is None:
        return {}
    if other is not None:
        return plan.trainer
    defaults = {name: f.default for name, f in TrainerSettings.model_fields.items()}
    return {k: v for k, v in plan.trainer.items() if k not in defaults or defaults[k] != v}


def _mapping(base: dict[str, Any], head: dict[str, Any]) -> list[ValueChange]:
    out = []
    for key in sorted({*base, *head}):
        b, h = base.get(key, _ABSENT), head.get(key, _ABSENT)
        if b != h or type(b) is not type(h):
            out.append(ValueChange(key, None if b is _ABSENT else value_text(b),
                                   None if h is _ABSENT else value_text(h)))
    return out


_ABSENT = object()


def value_text(value: Any) -> str:
    """A Plan value as the ``.pipe`` file would write it (``run.updates``, ``m:f(k = 1)``).

    Example:
        >>> value_text({"$call": "torch.optim:AdamW", "args": {"lr": 0.001}})
        'torch.optim:AdamW(lr = 0.001)'
    """
    if isinstance(value, dict):
        if set(value) == {RUN_KEY}:
            return f"run.{value[RUN_KEY]}"
        if set(value) == {"$ref"}:
            return str(value["$ref"])
        if "$call" in value:
            args = value.get("args") or {}
            return f"{value['$call']}({', '.join(f'{k} = {value_text(v)}' for k, v in args.items())})"
        return "{" + ", ".join(f"{k} = {value_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _run_values(base: Plan, head: Plan, trainer: list[ValueChange]) -> list[RunValueChange]:
    changed = {c.key for c in trainer}
    users = _run_users(head)
    out = []
    for name, inputs in RUN_INPUTS.items():
        because = tuple(k for k in inputs if k in changed)
        if not because:
            continue
        b, h = _run_number(base, name), _run_number(head, name)
        out.append(RunValueChange(f"run.{name}", b, h, because, tuple(users.get(name, ()))))
    return out


def _run_number(plan: Plan, name: str) -> str:
    """The value where the trainer block alone fixes it (``run.steps`` of a ``max_step`` run)."""
    t = plan.trainer
    steps = run_steps(t.get("max_step"), t.get("max_epoch"), None) if name == "steps" else None
    return str(steps) if steps is not None else "depends on the dataloader"


def _run_users(plan: Plan) -> dict[str, list[str]]:
    """Which hook arguments and trainer values read each run-time value (``sched.total_steps``)."""
    found: dict[str, list[str]] = {}

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            if set(value) == {RUN_KEY}:
                found.setdefault(str(value[RUN_KEY]), []).append(where)
            elif "$call" in value:
                walk(value.get("args") or {}, where)
            else:
                for k, v in value.items():
                    walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for v in value:
                walk(v, where)

    for hook in plan.hooks:
        walk(hook.args, hook.name)
    walk(plan.trainer, "trainer")
    return found


def _lint(out: FileDiff, base: Sequence[Diagnostic], head: Sequence[Diagnostic], base_main: str,
          head_main: str) -> None:
    """Findings matched by code, message and file (relative to the main file's folder), not by line."""
    def keyer(main: str) -> Callable[[Diagnostic], tuple[str, str, str]]:
        folder = os.path.dirname(main)

        def key(d: Diagnostic) -> tuple[str, str, str]:
            file = "" if d.span.file == main else posixpath.relpath(d.span.file, folder or ".")
            return (d.code, file, d.message)
        return key

    base_key, head_key = keyer(base_main), keyer(head_main)
    before = Counter(base_key(d) for d in base)
    after = Counter(head_key(d) for d in head)
    for d in sorted(head, key=Diagnostic.sort_key):
        if before[head_key(d)] > 0:
            before[head_key(d)] -= 1
        else:
            out.introduced.append(Finding.of(d))
    for d in sorted(base, key=Diagnostic.sort_key):
        if after[base_key(d)] > 0:
            after[base_key(d)] -= 1
        else:
            out.fixed.append(Finding.of(d))
