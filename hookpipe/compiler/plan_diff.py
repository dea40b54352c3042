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
  from ``Guard.fires`` (what ``explain --steps`` and the runtime use), and the
  last one where ``until`` bounds it;
- bracket changes: an attachment that moved into or out of a ``with NAME { }``
  (its flat running order can stay the same while it no longer runs between
  NAME's enter and exit), or that became or stopped being a bracket;
- edits that change the plan's hash but not what runs (``every step`` written
  where no frequency meant the same in a phase that runs once per step, lines of
  one hook with disjoint ranges written in another order) as *rewritten*, not
  as timing changes: a reviewer sees why the hash changed without a false alarm;
- hooks added or removed, and their type, arguments and effects;
- trainer settings, and the run-time values (``run.steps``, ``run.updates``...)
  those settings change, with who uses them;
- lint findings introduced and fixed (computed by the caller: the lint package
  sits above the compiler), matched by code, file and message, not line.

Equal content hashes are "no change to the plan" and nothing else is compared;
different ones always give at least one itemised difference (a report that only
says "plan changed" tells a reviewer nothing). Source locations are written by a
``Locate`` the caller passes (``diff --git`` labels the revision's side and
writes paths from the repository's top).

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
from hookpipe.compiler.loop import plural, scope_units, split_validation_scope
from hookpipe.compiler.lower import declaration_order
from hookpipe.compiler.plan import Guard, HookSpec, PhasePlan, Plan, PlanEntry, phase_order
from hookpipe.compiler.run_values import RUN_KEY, run_steps
from hookpipe.compiler.settings import TrainerSettings
from hookpipe.diagnostics import Diagnostic

__all__ = ["AttachmentRef", "BracketChange", "FileDiff", "Finding", "Flip", "FrequencyChange", "HookChange",
           "Locate", "Move", "PhaseDiff", "Rewrite", "RunValueChange", "SideError", "ValueChange",
           "diff_compilations", "first_firings", "plain_location", "value_text"]

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

#: Attachments of one hook written one after another whose written order is compared as unimportant
#: when their ranges are disjoint (every pair is tested: a longer run is compared as written).
MAX_INTERCHANGEABLE = 16
#: Units a phase runs once per occurrence of, where its scope counts them: there ``every UNIT`` (from 1,
#: no ``until``) fires every time, as no frequency does. Not ``update``: a step is one only at the end
#: of an accumulation window.
ONCE_PER: frozenset[str] = frozenset({"step", "batch", "epoch"})

Key = tuple[str, int]  # (hook, k-th attachment of it in the phase)
#: How a report writes a source location: ``locate(side, file, line)``, side "base" or "head".
Locate = Callable[[str, str, int], str]


def plain_location(side: str, file: str, line: int) -> str:
    """``file:line`` whichever the side: two files or folders already have different paths."""
    return f"{file}:{line}"


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


@dataclass(frozen=True, slots=True)
class BracketChange:
    """An attachment whose ``with NAME { }`` brackets changed, or that became or stopped being one.

    Its running order may stay the same (the bracket's own entry runs first either
    way), but inside ``with swap`` it runs between swap's enter and exit (with the
    averaged weights, say) and outside it does not: not the same step at all.
    ``base``/``head`` are the enclosing brackets, outermost first (``swap``, ``swap#2``).
    """

    hook: str
    occurrence: int
    base: tuple[str, ...]
    head: tuple[str, ...]
    where: str
    base_opens: bool = False  # it is itself a bracket (``with hook { }``) at BASE
    head_opens: bool = False

    @property
    def left(self) -> tuple[str, ...]:
        """Brackets it ran inside at BASE and no longer does."""
        return tuple(b for b in self.base if b not in self.head)

    @property
    def entered(self) -> tuple[str, ...]:
        """Brackets it runs inside at HEAD and did not at BASE."""
        return tuple(b for b in self.head if b not in self.base)

    def to_json(self) -> dict[str, Any]:
        return {"hook": self.hook, "occurrence": self.occurrence, "base": list(self.base), "head": list(self.head),
                "left": list(self.left), "entered": list(self.entered), "base_opens": self.base_opens,
                "head_opens": self.head_opens, "where": self.where}


@dataclass(frozen=True, slots=True)
class Rewrite:
    """An edit that changes the plan's hash but not what runs, and why it does not.

    Reported so a reviewer sees what changed the hash; never as a timing change.
    """

    hook: str
    occurrence: int
    base: str
    head: str
    why: str
    where: str

    def to_json(self) -> dict[str, Any]:
        return {"hook": self.hook, "occurrence": self.occurrence, "base": self.base, "head": self.head,
                "why": self.why, "where": self.where}


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
    brackets: list[BracketChange] = field(default_factory=list)
    rewritten: list[Rewrite] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.phase}"

    @property
    def changed(self) -> bool:
        """Whether what runs in this phase changed (a rewrite alone is not a change)."""
        return bool(self.added or self.removed or self.moved or self.frequency or self.brackets)

    @property
    def shown(self) -> bool:
        """Whether the report lists this phase: it changed, or an edit in it changed the hash only."""
        return self.changed or bool(self.rewritten)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.key, "added": [a.to_json() for a in self.added],
                "removed": [a.to_json() for a in self.removed], "moved": [m.to_json() for m in self.moved],
                "frequency": [f.to_json() for f in self.frequency], "base_order": self.base_order,
                "head_order": self.head_order, "brackets": [b.to_json() for b in self.brackets],
                "rewritten": [r.to_json() for r in self.rewritten]}


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
    def of(cls, d: Diagnostic, side: str = "head", locate: Locate = plain_location) -> "Finding":
        """``d`` as reported; ``side`` is the side whose files it points into (for ``locate``)."""
        return cls(d.code, d.severity, d.message, locate(side, d.span.file, d.span.line))

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
    #: The file's name on the BASE side when it was renamed or moved with its plan unchanged
    #: (``status`` is then "unchanged"): not an added file and a removed one.
    renamed_from: str | None = None

    @property
    def plan_changed(self) -> bool:
        """What ``--exit-code`` reports: a different plan, a side that does not compile, a file added or removed
        (a file renamed with an equal plan is neither)."""
        return self.status != "unchanged"

    @property
    def order_changes(self) -> int:
        return sum(len(p.added) + len(p.removed) + len(p.moved) + len(p.frequency) + len(p.brackets)
                   for p in self.phases)

    @property
    def itemised(self) -> bool:
        """Whether the report says what differs (a changed file must: see ``test_diff_reports``)."""
        return bool(self.errors or self.name or any(p.shown for p in self.phases) or self.hooks or self.trainer)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "status": self.status, "base_hash": self.base_hash, "head_hash": self.head_hash,
            "errors": [e.to_json() for e in self.errors], "name": self.name.to_json() if self.name else None,
            "phases": [p.to_json() for p in self.phases if p.shown], "hooks": [h.to_json() for h in self.hooks],
            "trainer": [t.to_json() for t in self.trainer], "run_values": [r.to_json() for r in self.run_values],
            "lint": {"introduced": [f.to_json() for f in self.introduced],
                     "fixed": [f.to_json() for f in self.fixed]},
            "renamed_from": self.renamed_from,
        }


# --- entry point -------------------------------------------------------------------------------


def diff_compilations(file: str, base: Compilation | None, head: Compilation | None,
                      base_findings: Sequence[Diagnostic] = (), head_findings: Sequence[Diagnostic] = (),
                      locate: Locate = plain_location) -> FileDiff:
    """Compare ``file`` at BASE and HEAD; None is a side where the file does not exist.

    A side with errors is reported with its errors and nothing else is compared.
    ``*_findings`` are the lint diagnostics of each side (``lint_compilation``).
    ``locate`` writes each side's source locations (:data:`Locate`).

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
            out.errors.append(SideError(side, tuple(Finding.of(d, side, locate) for d in errors)))
    out.base_hash = base.plan.content_hash if base is not None and base.plan is not None else None
    out.head_hash = head.plan.content_hash if head is not None and head.plan is not None else None
    _lint(out, base_findings, head_findings, base.main if base else "", head.main if head else "", locate)
    if out.errors:
        out.status = "error"
        return out
    if base is None and head is None:
        raise ValueError(f"{file}: neither side exists")
    if base is not None and head is not None and out.base_hash == out.head_hash:
        out.status = "unchanged"
        return out
    out.status = "added" if base is None else "removed" if head is None else "changed"
    _compare_plans(out, base, head, locate)
    return out


def _compare_plans(out: FileDiff, base: Compilation | None, head: Compilation | None, locate: Locate) -> None:
    """Fill ``out`` with what differs between two plans that compiled (one may be absent)."""
    base_plan = base.plan if base is not None else None
    head_plan = head.plan if head is not None else None
    base_name, head_name = (p.name if p is not None else None for p in (base_plan, head_plan))
    if base_plan is not None and head_plan is not None and base_name != head_name:
        out.name = ValueChange("pipeline", base_name, head_name)
    keys = list(phase_order())
    for other in (base, head):  # validation runs' phases (`validation NAME { }`), as the compiler names them
        keys += [k for k in (other.phase_keys() if other is not None else []) if k not in keys]
    for scope, phase in keys:
        base_side = _Side.of(base, scope, phase, "base", locate)
        out.phases.append(_phase(scope, phase, base_side, _Side.of(head, scope, phase, "head", locate, base_side)))
    out.hooks = _hooks(base_plan, head_plan, locate)
    out.trainer = _mapping(_set(base_plan, head_plan), _set(head_plan, base_plan))
    if base_plan is not None and head_plan is not None:
        out.run_values = _run_values(base_plan, head_plan, out.trainer)


# --- phases ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Flat:
    """One entry of a phase in running order, with the flat indices of the brackets around it (outermost first)."""

    entry: PlanEntry
    node: int | None
    brackets: tuple[int, ...]


@dataclass
class _Side:
    """One side of one phase: attachments by key in lowered order, with graph node ids and brackets.

    HEAD's runs of interchangeable attachments are keyed in BASE's order of the
    same guards (:func:`_aligned`), so writing them in another order changes no
    key; ``written`` keeps each hook's attachments as written, to say so.
    """

    ctx: Compilation | None
    graph: OrderGraph | None
    keys: list[Key]
    entries: dict[Key, PlanEntry]
    nodes: dict[Key, int]
    position: dict[Key, int]
    name: str = "head"
    locate: Locate = plain_location
    brackets: dict[Key, tuple[str, ...]] = field(default_factory=dict)
    written: dict[str, list[PlanEntry]] = field(default_factory=dict)

    @classmethod
    def of(cls, ctx: Compilation | None, scope: str, phase: str, name: str = "head",
           locate: Locate = plain_location, like: "_Side | None" = None) -> "_Side":
        """``ctx``'s side of a phase; ``like``: the BASE side, whose order HEAD's interchangeable runs take."""
        side = cls(ctx, None, [], {}, {}, {}, name, locate)
        found = _phase_plan(ctx, scope, phase)
        if ctx is None or found is None:
            return side
        side.graph = ctx.graphs.get((scope, phase))
        ids = ctx.phase_orders.get((scope, phase)) or (declaration_order(side.graph) if side.graph else [])
        flat = _flatten(found.entries, ids)
        for item in flat:
            side.written.setdefault(item.entry.hook, []).append(item.entry)
        side._index(flat, _aligned(flat, like.written if like is not None else {}))
        return side

    def _index(self, flat: list[_Flat], order: list[int]) -> None:
        """Key the entries of ``flat`` taken in ``order`` (indices into it): k-th attachment of each hook."""
        seen: Counter[str] = Counter()
        key_of: dict[int, Key] = {}
        for i in order:
            item = flat[i]
            seen[item.entry.hook] += 1
            key = key_of[i] = (item.entry.hook, seen[item.entry.hook])
            self.keys.append(key)
            self.entries[key] = item.entry
            if item.node is not None:
                self.nodes[key] = item.node
        for i, key in key_of.items():
            self.brackets[key] = tuple(_label(key_of[b]) for b in flat[i].brackets)
        self.position = {k: i + 1 for i, k in enumerate(self.keys)}

    def where(self, entry: PlanEntry | HookSpec) -> str:
        return self.locate(self.name, entry.span.file, entry.span.line)

    def at(self, file: str, line: int) -> str:
        return self.locate(self.name, file, line)

    def ref(self, key: Key) -> AttachmentRef:
        entry = self.entries[key]
        return AttachmentRef(key[0], key[1], self.position[key], _when(entry.guard, entry.main_only),
                             self.where(entry))


def _phase_plan(ctx: Compilation | None, scope: str, phase: str) -> PhasePlan | None:
    """The plan's phase; None on a side that has no plan, or no such validation block."""
    if ctx is None or ctx.plan is None:
        return None
    split = split_validation_scope(scope)
    if split is None:
        return ctx.plan.phase(scope, phase)
    return ctx.plan.validation_phase(split[0], split[1], phase)


def _flatten(entries: Sequence[PlanEntry], ids: Sequence[int]) -> list[_Flat]:
    """Every entry in running order (as ``PhasePlan.flat``), with its graph node and enclosing brackets.

    ``PhasePlan.flat`` alone drops which bracket an entry sits in: moving an
    attachment out of ``with swap { }`` left the flat order as it was, and the
    diff reported nothing.
    """
    out: list[_Flat] = []

    def walk(items: Sequence[PlanEntry], around: tuple[int, ...]) -> None:
        for entry in items:
            index = len(out)
            out.append(_Flat(entry, ids[index] if index < len(ids) else None, around))
            if entry.inner is not None:
                walk(entry.inner, (*around, index))

    walk(entries, ())
    return out


def _aligned(flat: list[_Flat], base: dict[str, list[PlanEntry]]) -> list[int]:
    """``flat``'s indices in running order, each run of interchangeable attachments in BASE's order.

    Attachments of one hook written one after another, at the same bracket depth,
    none of them a bracket, whose ranges never meet (``Guard.overlaps``: at most
    one of them fires at any count) run in no observable order: swapping
    ``evaluate every 10 epochs until 285`` with ``evaluate every epoch from 286``
    changes no firing. Such a run takes the order in which BASE writes the same
    guards for the same attachments of the hook, so they keep their keys and are
    not reported as two timing changes. BASE itself (``base`` empty) keeps its order.
    """
    order: list[int] = []
    run: list[int] = []
    before: Counter[str] = Counter()  # attachments of each hook ahead of the run
    for i, item in enumerate(flat):
        if run and not _joins(flat, run, item):
            order += _as_in_base(flat, run, base, before)
            run = []
        run.append(i)
    return order + (_as_in_base(flat, run, base, before) if run else [])


def _as_in_base(flat: list[_Flat], run: list[int], base: dict[str, list[PlanEntry]],
                before: Counter[str]) -> list[int]:
    """``run`` reordered to BASE's guards for the same attachments of its hook, or as it is if they differ."""
    hook = flat[run[0]].entry.hook
    start = before[hook]
    before[hook] += len(run)
    wanted = [_timing(e) for e in base.get(hook, [])[start:start + len(run)]]
    left = list(run)
    order = []
    for timing in wanted:
        match = next((i for i in left if _timing(flat[i].entry) == timing), None)
        if match is None:
            return run
        left.remove(match)
        order.append(match)
    return order if not left else run


def _joins(flat: list[_Flat], run: list[int], item: _Flat) -> bool:
    """Whether ``item`` is interchangeable with every attachment of ``run`` (see :func:`_aligned`)."""
    first = flat[run[0]]
    if item.entry.inner is not None or first.entry.inner is not None or len(run) >= MAX_INTERCHANGEABLE:
        return False
    if item.entry.hook != first.entry.hook or item.brackets != first.brackets:
        return False
    return not any(flat[j].entry.guard.overlaps(item.entry.guard) for j in run)


def _phase(scope: str, phase: str, base: _Side, head: _Side) -> PhaseDiff:
    """One phase compared attachment by attachment (keyed as :class:`_Side` keys them)."""
    out = PhaseDiff(scope, phase, base_order=[_label(k) for k in base.keys],
                    head_order=[_label(k) for k in head.keys])
    out.removed = [base.ref(k) for k in base.keys if k not in head.entries]
    out.added = [head.ref(k) for k in head.keys if k not in base.entries]
    common = [k for k in base.keys if k in head.entries]
    for key in common:
        _compare_attachment(out, key, base, head)
    kept = _longest_in_order(common, head.position)
    moved = [k for k in common if k not in kept]
    for number, key in enumerate(sorted(moved, key=lambda k: head.position[k])):
        flips = [other for other in common if other != key
                 and (base.position[other] < base.position[key]) != (head.position[other] < head.position[key])]
        flips.sort(key=lambda o: abs(head.position[o] - head.position[key]))
        shown = MAX_FLIPS if number < MAX_EXPLAINED else 0
        listed = tuple(_flip(key, other, base, head) for other in flips[:shown])
        out.moved.append(Move(key[0], key[1], base.position[key], head.position[key], head.where(head.entries[key]),
                              listed, len(flips) - len(listed)))
    if not out.changed:  # otherwise the phase's changes say what changed
        _note_reordered(out, base, head)
    return out


def _compare_attachment(out: PhaseDiff, key: Key, base: _Side, head: _Side) -> None:
    """One attachment present on both sides: its timing and its brackets."""
    b, h = base.entries[key], head.entries[key]
    if b.guard != h.guard or b.main_only != h.main_only:
        before, after = (_when(e.guard, e.main_only) or "every time" for e in (b, h))
        if b.main_only == h.main_only and _always(b.guard, out.scope) and _always(h.guard, out.scope):
            why = f"the same firings: {out.key} runs once per {_unit(b.guard, h.guard)}"
            out.rewritten.append(Rewrite(key[0], key[1], before, after, why, head.where(h)))
        else:
            validation = split_validation_scope(out.scope) is not None
            out.frequency.append(FrequencyChange(key[0], key[1], before, after, first_firings(b.guard, validation),
                                                 first_firings(h.guard, validation), head.where(h)))
    opens = (b.inner is not None, h.inner is not None)
    if base.brackets[key] != head.brackets[key] or opens[0] != opens[1]:
        out.brackets.append(BracketChange(key[0], key[1], base.brackets[key], head.brackets[key], head.where(h),
                                          *opens))


def _always(guard: Guard, scope: str) -> bool:
    """Whether ``guard`` fires every time a phase of ``scope`` runs (as no frequency does).

    ``every step`` (from 1, no ``until``) in a phase that runs once per step fires
    at every count from 1 (docs/reference.md, "Frequencies"), so ``clip`` and
    ``clip every step`` in step.after are the same firings.
    """
    if guard.unit is None:
        return True
    return (guard.unit in ONCE_PER and guard.unit in scope_units(scope) and guard.every == 1 and guard.start == 1
            and guard.until is None)


def _unit(*guards: Guard) -> str:
    return next((g.unit for g in guards if g.unit is not None), "time")


def _note_reordered(out: PhaseDiff, base: _Side, head: _Side) -> None:
    """Hooks whose interchangeable attachments were written in another order (see :func:`_aligned`).

    In a phase where nothing else changed, nothing would be reported, yet the
    plan's hash changed: say so, once per hook, with both written orders.
    """
    for hook, written in head.written.items():
        before = base.written.get(hook, [])
        timings = [_timing(e) for e in before], [_timing(e) for e in written]
        if len(before) != len(written) or timings[0] == timings[1]:
            continue
        keys = [(hook, k) for k in range(1, len(written) + 1)]
        if all(_timing(base.entries[k]) == _timing(head.entries[k]) for k in keys):
            first = next(e for e, old in zip(written, before) if _timing(e) != _timing(old))
            why = "attachments of one hook whose ranges never meet, written in another order: at most one fires"
            out.rewritten.append(Rewrite(hook, 1, _written(before), _written(written), why, head.where(first)))


def _timing(entry: PlanEntry) -> tuple[Guard, bool]:
    return entry.guard, entry.main_only


def _written(entries: list[PlanEntry]) -> str:
    return "; ".join(_when(e.guard, e.main_only) or "every time" for e in entries)


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
        why = "; ".join(describe_origin(o, side.at) for o in origins)
        out.append(why if len(path) == 1 else f"{names[before]} -> {names[after]}: {why}")
    return tuple(out)


def describe_origin(origin: Origin, at: Callable[[str, int], str] | None = None) -> str:
    """An edge's origin as a reviewer reads it: the statement with its file:line, or the effect rule.

    ``at`` writes the location (``file:line`` by default; ``diff --git`` labels BASE's with its revision).
    """
    if origin.kind == "effect":
        return f"effect rule: {origin.resource} ({origin.relation})"
    write = at or (lambda file, line: f"{file}:{line}")
    where = f" at {write(origin.span.file, origin.span.line)}" if origin.span is not None else ""
    if origin.kind == "written":
        return f"written order{where}"
    if origin.kind == "bracket":
        return f"inside a bracket{where}"
    return f"`{origin.kind}` statement{where}"


# --- frequencies -------------------------------------------------------------------------------


def first_firings(guard: Guard, validation: bool = False, count: int = 3) -> str:
    """The first ``count`` occurrences of the guard's unit it fires at (1-based, as ``from`` counts),
    and the last one where ``until`` bounds them.

    ``validation``: the guard is in a validation run's scopes, whose batches are that run's.
    The last firing is what tells ``until 4000`` from ``until 3000`` apart: their
    first three are the same.

    Example:
        >>> first_firings(Guard("step", 200, 100))
        'steps 100, 300, 500'
        >>> first_firings(Guard("update", 10, 100, until=4000))
        'updates 100, 110, 120 … 4000'
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
    text = f"{units} {', '.join(map(str, found))}{_last(guard, found)}" if found else f"no {guard.unit} before the end"
    if guard.unit == "batch":  # counted from 1 again in every pass over the loader
        per = "validation run" if validation else "epoch"
        text = (text if found else "no batch") + f" of each {per}"
        return text + (f", and at each {per}'s last batch" if guard.at_end else "")
    return text + (", and at the end" if guard.at_end else "")


def _last(guard: Guard, found: list[int]) -> str:
    """`` … N``: the last firing below ``until`` when it is past the ones listed ("", 4th: ``, N``)."""
    if guard.until is None or not found:
        return ""
    last = guard.start + (guard.until - guard.start) // guard.every * guard.every
    if last <= found[-1]:
        return ""
    return f", {last}" if last == found[-1] + guard.every else f" … {last}"


def _when(guard: Guard, main_only: bool) -> str:
    return ", ".join(x for x in (guard.describe(), "on main" if main_only else "") if x)


def _label(key: Key) -> str:
    return key[0] if key[1] == 1 else f"{key[0]}#{key[1]}"


# --- hooks, settings, run values ---------------------------------------------------------------


def _hooks(base: Plan | None, head: Plan | None, locate: Locate = plain_location) -> list[HookChange]:
    """Hooks added, removed or changed; a removed one is located in BASE's files, the others in HEAD's."""
    before = {h.name: h for h in base.hooks} if base else {}
    after = {h.name: h for h in head.hooks} if head else {}
    out: list[HookChange] = []
    for name in [*before, *(n for n in after if n not in before)]:
        b, h = before.get(name), after.get(name)
        if h is None:
            assert b is not None
            out.append(_one_sided(b, "removed", locate("base", b.span.file, b.span.line)))
        elif b is None:
            out.append(_one_sided(h, "added", locate("head", h.span.file, h.span.line)))
        elif (change := _hook_change(b, h, locate("head", h.span.file, h.span.line))) is not None:
            out.append(change)
    return out


def _one_sided(spec: HookSpec, status: str, where: str) -> HookChange:
    """A hook declared on one side only: its whole declaration, as an added or removed one."""
    added = status == "added"
    return HookChange(spec.name, status, where, ValueChange("type", None if added else spec.type,
                                                              spec.type if added else None),
                      _mapping({} if added else spec.args, spec.args if added else {}),
                      _effects(None if added else spec, spec if added else None))


def _hook_change(b: HookSpec, h: HookSpec, where: str) -> HookChange | None:
    """What changed in a hook both sides declare, or None."""
    change = HookChange(h.name, "changed", where)
    if (b.type, b.builtin) != (h.type, h.builtin):
        change.type = ValueChange("type", b.type, h.type)
    change.args = _mapping(b.args, h.args)
    change.effects = _effects(b, h)
    if b.collective != h.collective:
        change.effects.append(ValueChange("collective", str(b.collective).lower(), str(h.collective).lower()))
    return change if change.type or change.args or change.effects else None


def _effects(base: HookSpec | None, head: HookSpec | None) -> list[ValueChange]:
    """Effects whose resources changed; ones only written in another order are shown in written order.

    The plan keeps effects in the order first named, and its hash with them, so
    ``writes p, q`` -> ``writes q, p`` changes the hash: said, not left unexplained.
    """
    out = []
    for kind in ("reads", "writes", "consumes"):
        b: tuple[str, ...] = base.effects.of(kind) if base else ()
        h: tuple[str, ...] = head.effects.of(kind) if head else ()
        if set(b) != set(h):
            out.append(ValueChange(kind, ", ".join(sorted(b)) or None, ", ".join(sorted(h)) or None))
        elif b != h:
            out.append(ValueChange(f"{kind} (order only)", ", ".join(b), ", ".join(h)))
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
          head_main: str, locate: Locate = plain_location) -> None:
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
            out.introduced.append(Finding.of(d, "head", locate))
    for d in sorted(base, key=Diagnostic.sort_key):
        if after[base_key(d)] > 0:
            after[base_key(d)] -= 1
        else:
            out.fixed.append(Finding.of(d, "base", locate))
