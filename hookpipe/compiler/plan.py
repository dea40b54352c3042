"""The lowered, executable form of a pipeline.

A Plan is plain data: what the runtime executes and nothing else. Its JSON form is
stable (sorted keys, no floats re-formatted), and its content hash ignores source
spans, so reformatting a file or moving it never changes the hash while any change
of meaning does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any, Iterator, Mapping

from hookpipe.compiler.loop import PARENT, PHASES, SCOPES, UNITS, Unit, callback_name, every, phase_order
from hookpipe.dsl.span import Span

__all__ = [
    "BRACKET_ENTER", "BRACKET_EXIT",
    "EFFECT_KINDS", "PARENT", "PHASES", "PLAN_FORMAT", "SCOPES", "UNITS", "Effects", "Guard", "HookSpec", "PhasePlan",
    "Plan", "PlanEntry", "Unit", "callback_name", "phase_order",
]

PLAN_FORMAT = 1

#: The callbacks of a bracket hook (``with NAME { ... }``): the entry's callback is the first.
BRACKET_ENTER = "enter"
BRACKET_EXIT = "exit"


@dataclass(frozen=True, slots=True)
class Guard:
    """When an attachment fires.

    ``unit is None`` means every time the phase runs. Otherwise the c-th occurrence
    of ``unit`` (1-based) fires when ``c >= start`` and ``(c - start) % every == 0``
    and, with ``until``, ``c <= until``; ``at_end`` also fires on the run's last
    step/epoch (even past ``until``: "and at end" is written on purpose).
    """

    unit: Unit | None = None
    every: int = 1
    start: int = 1
    at_end: bool = False
    #: The last occurrence that may fire (``until N``); None: no end.
    until: int | None = None

    def fires(self, count: int, *, is_last: bool = False) -> bool:
        """Whether the guard fires at the ``count``-th (1-based) occurrence of its unit."""
        if self.unit is None:
            return True
        if (count >= self.start and (count - self.start) % self.every == 0
                and (self.until is None or count <= self.until)):
            return True
        return self.at_end and is_last

    def condition(self, count: str, last: str) -> str | None:
        """:meth:`fires` as a Python expression over the names ``count`` and ``last``.

        The runtime compiles each Plan phase into one function with this text
        inlined (see ``hookpipe.runtime.dispatch.phases``); None means the guard is always on.

        Example:
            >>> Guard("step", 1000, 1000).condition("c.step", "c.last_step")
            '(c.step >= 1000 and (c.step - 1000) % 1000 == 0)'
            >>> Guard("epoch", 10, 10, until=285).condition("c.epoch", "c.last_epoch")
            '(c.epoch >= 10 and (c.epoch - 10) % 10 == 0 and c.epoch <= 285)'
        """
        if self.unit is None:
            return None
        test = f"{count} >= {self.start}"
        if self.every != 1:
            test += f" and ({count} - {self.start}) % {self.every} == 0"
        if self.until is not None:
            test += f" and {count} <= {self.until}"
        return f"({test}) or {last}" if self.at_end else f"({test})"

    def overlaps(self, other: "Guard") -> bool:
        """Whether the occurrence ranges of two guards meet (HP107's test).

        A guard's range runs from ``start`` to ``until`` (no end without it). Guards
        of different units, or one always on, are taken to overlap; so are two that
        both fire ``at end``, and one that fires ``at end`` with one whose range has
        no end (the last occurrence is in it: ``every 2 batches until 4 and at end``
        and ``every batch from 5`` both fire on each epoch's last batch).
        """
        if self.unit is None or other.unit is None or self.unit != other.unit:
            return True
        if self.at_end and (other.at_end or other.until is None) or other.at_end and self.until is None:
            return True
        ends = [g.until for g in (self, other) if g.until is not None]
        return not ends or max(self.start, other.start) <= min(ends)

    def describe(self) -> str:
        """The guard as ``explain`` and ``render`` print it (``every 200 steps from 100``)."""
        text = "" if self.unit is None else every(self.every, self.unit)
        if self.unit is not None and self.start != self.every:
            text += f" from {self.start}"
        if self.until is not None:
            text += f" until {self.until}"
        if self.at_end:
            text += " and at end"
        return text.strip()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"unit": self.unit, "every": self.every, "start": self.start, "at_end": self.at_end}
        if self.until is not None:  # written only when set: plans without it keep their form and hash
            out["until"] = self.until
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Guard":
        until = data.get("until")
        return cls(data["unit"], int(data["every"]), int(data["start"]), bool(data["at_end"]),
                   None if until is None else int(until))


@dataclass(frozen=True, slots=True)
class Effects:
    """The resources a hook reads, writes and consumes: its fields are the effect kinds (:data:`EFFECT_KINDS`)."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()

    def of(self, kind: str) -> tuple[str, ...]:
        """The resources of one kind (one of :data:`EFFECT_KINDS`)."""
        return getattr(self, kind)  # type: ignore[no-any-return]

    @classmethod
    def union(cls, *parts: "Effects") -> "Effects":
        """Every resource each part names, kind by kind, in the order first named."""
        return cls(**{kind: tuple(dict.fromkeys(r for e in parts for r in e.of(kind))) for kind in EFFECT_KINDS})

    def to_json(self) -> dict[str, list[str]]:
        return {kind: list(self.of(kind)) for kind in EFFECT_KINDS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Effects":
        return cls(**{kind: tuple(data[kind]) for kind in EFFECT_KINDS})


#: The kinds of effect a hook can declare (``reads``, ``writes``, ``consumes``), in the
#: order the Plan, hovers and messages list them. The one definition: the fields of
#: :class:`Effects`; the grammar's effect keywords are checked against it by a test.
EFFECT_KINDS: tuple[str, ...] = tuple(f.name for f in fields(Effects))


@dataclass(frozen=True, slots=True)
class HookSpec:
    """A hook instance: its type and its arguments as JSON values.

    ``type`` is a built-in name (``builtin=True``) or an import path. Values that
    name Python objects are ``{"$ref": "module:attr"}`` or, for calls,
    ``{"$call": "module:attr", "args": {...}}``; a path with no ``:`` is resolved by
    importing the longest importable prefix.
    """

    name: str
    type: str
    builtin: bool
    args: dict[str, Any]
    effects: Effects
    span: Span
    #: A custom hook declared ``collective`` (built-ins say so in the catalog). Written
    #: to JSON only when true, so plans without it keep their form and hash.
    collective: bool = False

    def to_json(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "type": self.type,
            "builtin": self.builtin,
            "args": self.args,
            "effects": self.effects.to_json(),
            "span": self.span.to_json(),
        }
        if self.collective:
            out["collective"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "HookSpec":
        return cls(
            data["name"],
            data["type"],
            bool(data["builtin"]),
            dict(data["args"]),
            Effects.from_json(data["effects"]),
            Span.from_json(data["span"]),
            bool(data.get("collective", False)),
        )


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One callback to run in one phase: the unit of execution."""

    hook: str
    callback: str
    guard: Guard
    main_only: bool
    span: Span
    #: A bracket (``with NAME { ... }``, callback :data:`BRACKET_ENTER`): the entries it
    #: runs between its hook's ``enter`` and ``exit``. None for every other entry; written
    #: to JSON only for brackets, so plans without them keep their form and hash.
    inner: tuple["PlanEntry", ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "hook": self.hook,
            "callback": self.callback,
            "guard": self.guard.to_json(),
            "main_only": self.main_only,
            "span": self.span.to_json(),
        }
        if self.inner is not None:
            out["inner"] = [e.to_json() for e in self.inner]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PlanEntry":
        inner = data.get("inner")
        return cls(
            data["hook"],
            data["callback"],
            Guard.from_json(data["guard"]),
            bool(data["main_only"]),
            Span.from_json(data["span"]),
            None if inner is None else tuple(cls.from_json(e) for e in inner),
        )

    def flat(self) -> Iterator["PlanEntry"]:
        """This entry and, for a bracket, every entry inside it, in running order."""
        yield self
        for e in self.inner or ():
            yield from e.flat()


@dataclass(frozen=True, slots=True)
class PhasePlan:
    scope: str
    phase: str
    entries: tuple[PlanEntry, ...]

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.phase}"

    def flat(self) -> tuple[PlanEntry, ...]:
        """Every entry in running order, brackets' contents included (after their bracket's entry)."""
        if not any(e.inner is not None for e in self.entries):
            return self.entries
        return tuple(x for e in self.entries for x in e.flat())

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "phase": self.phase, "entries": [e.to_json() for e in self.entries]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PhasePlan":
        return cls(data["scope"], data["phase"], tuple(PlanEntry.from_json(e) for e in data["entries"]))


@dataclass(frozen=True, slots=True)
class Plan:
    """The whole lowered pipeline.

    ``phases`` holds all twelve (scope, phase) pairs in loop order, empty ones too,
    so consumers can index them without special cases.
    """

    name: str | None
    source: str
    trainer: dict[str, Any]
    hooks: tuple[HookSpec, ...]
    phases: tuple[PhasePlan, ...]
    format: int = PLAN_FORMAT
    _hash: str = field(default="", compare=False, repr=False)
    #: The phases of validation runs (``validation NAME { }``), by validation hook name: its
    #: four phases in running order, scopes ``validation`` and ``batch``. Written to JSON
    #: only when a file has such a block, so plans without one keep their form and hash.
    validation: Mapping[str, tuple[PhasePlan, ...]] = field(default_factory=dict)

    def validation_phase(self, hook: str, scope: str, phase: str) -> PhasePlan | None:
        """One phase of ``hook``'s validation run (scope ``validation`` or ``batch``), None if it has none."""
        for p in self.validation.get(hook, ()):
            if p.scope == scope and p.phase == phase:
                return p
        return None

    def phase(self, scope: str, phase: str) -> PhasePlan:
        for p in self.phases:
            if p.scope == scope and p.phase == phase:
                return p
        raise KeyError(f"{scope}.{phase}")

    def hook(self, name: str) -> HookSpec:
        for h in self.hooks:
            if h.name == name:
                return h
        raise KeyError(name)

    def entries(self) -> Iterator[tuple[PhasePlan, PlanEntry]]:
        """Every entry with its phase, brackets' contents included (validation runs' phases last)."""
        for p in self.phases:
            for e in p.flat():
                yield p, e
        for name in sorted(self.validation):
            for p in self.validation[name]:
                for e in p.flat():
                    yield p, e

    def _validation_json(self) -> dict[str, Any]:
        return {name: [p.to_json() for p in phases] for name, phases in sorted(self.validation.items())}

    def to_dict(self) -> dict[str, Any]:
        out = {
            "format": self.format,
            "name": self.name,
            "source": self.source,
            "trainer": self.trainer,
            "hooks": [h.to_json() for h in self.hooks],
            "phases": [p.to_json() for p in self.phases],
            "hash": self.content_hash,
        }
        if self.validation:
            out["validation"] = self._validation_json()
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """The plan as JSON text; identical input always gives identical bytes."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        data = json.loads(text)
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"unsupported plan format {data.get('format')!r} (expected {PLAN_FORMAT})")
        return cls(
            name=data["name"],
            source=data["source"],
            trainer=dict(data["trainer"]),
            hooks=tuple(HookSpec.from_json(h) for h in data["hooks"]),
            phases=tuple(PhasePlan.from_json(p) for p in data["phases"]),
            validation={name: tuple(PhasePlan.from_json(p) for p in phases)
                        for name, phases in dict(data.get("validation") or {}).items()},
        )

    @property
    def content_hash(self) -> str:
        """sha256 of the plan's meaning: everything but source spans and file names."""
        if not self._hash:
            object.__setattr__(self, "_hash", _hash_of(self))
        return self._hash


def _strip_spans(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_spans(v) for k, v in value.items() if k != "span"}
    if isinstance(value, list):
        return [_strip_spans(v) for v in value]
    return value


def _hash_of(plan: Plan) -> str:
    """The hash of what the plan does. Hooks are taken by name: the order of their
    declarations changes no phase's order (attachments' ties break by attachment
    declaration), so moving a ``hook`` line is no change (``hookpipe diff``)."""
    meaning = {
        "format": plan.format,
        "name": plan.name,
        "trainer": plan.trainer,
        "hooks": _strip_spans([h.to_json() for h in sorted(plan.hooks, key=lambda h: h.name)]),
        "phases": _strip_spans([p.to_json() for p in plan.phases]),
    }
    if plan.validation:  # only then: plans without validation blocks keep their hash
        meaning["validation"] = _strip_spans(plan._validation_json())
    text = json.dumps(meaning, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
