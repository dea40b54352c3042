"""The typed AST of a ``.pipe`` file.

Frozen dataclasses, each with the ``Span`` it came from. No pass after the parser
sees a lark ``Tree``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from hookpipe.dsl.span import Span

# --- values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Int:
    value: int
    span: Span


@dataclass(frozen=True, slots=True)
class Float:
    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Str:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class NoneValue:
    span: Span


@dataclass(frozen=True, slots=True)
class Ref:
    """A dotted reference through a ``use`` alias (``digits.evaluate``) or a bare name."""

    parts: tuple[str, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class RunValue:
    """``run.NAME``: a number known when the run starts (``run.updates``...).

    Any dotted value starting with ``run`` parses to this; the compiler checks
    ``name`` against :data:`hookpipe.compiler.run_values.RUN_VALUES`.
    """

    name: str
    span: Span

    @property
    def dotted(self) -> str:
        return f"run.{self.name}"


@dataclass(frozen=True, slots=True)
class ListValue:
    items: tuple["Value", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Argument:
    name: str
    value: "Value"
    span: Span


@dataclass(frozen=True, slots=True)
class Table:
    items: tuple[Argument, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """``callee(args)``: a factory or class, by reference or quoted import path."""

    callee: Union[Ref, Str]
    args: tuple[Argument, ...]
    span: Span


Value = Union[Int, Float, Str, Bool, NoneValue, Ref, RunValue, ListValue, Table, Call]


# --- declarations --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Use:
    alias: str
    module: str
    span: Span
    alias_span: Span


@dataclass(frozen=True, slots=True)
class Include:
    path: str
    span: Span


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    value: Value
    span: Span


@dataclass(frozen=True, slots=True)
class Trainer:
    settings: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Effect:
    kind: str  # "reads" | "writes" | "consumes", or a flag ("collective") with no resources
    resources: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class HookDecl:
    name: str
    type: Union[Ref, Str]
    args: tuple[Argument, ...]
    effects: tuple[Effect, ...] | None
    span: Span
    name_span: Span


# --- scopes and attachments ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Every:
    """``every N unit`` (``count`` None for ``every step``); ``unit`` as written."""

    count: int | None
    unit: str
    span: Span
    unit_span: Span


@dataclass(frozen=True, slots=True)
class Attachment:
    hook: str
    every: Every | None
    start: int | None
    start_span: Span | None
    at_end: bool
    on: str | None
    on_span: Span | None
    span: Span
    name_span: Span
    #: ``until N``: the last occurrence (1-based, counted like ``start``) that may fire.
    until: int | None = None
    until_span: Span | None = None


@dataclass(frozen=True, slots=True)
class Chain:
    attachments: tuple[Attachment, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Bracket:
    """``with NAME { ... }`` inside a phase: NAME's enter, the items in order, NAME's exit."""

    hook: str
    chains: tuple[Union[Chain, "Bracket"], ...]
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class PhaseBlock:
    phase: str  # "before" | "after"
    chains: tuple[Union[Chain, Bracket], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ScopeBlock:
    name: str
    body: tuple[Union["ScopeBlock", PhaseBlock], ...]
    span: Span
    name_span: Span
    #: ``validation NAME { ... }``: the hook whose own scopes the block opens (None for ``loop``...).
    target: str | None = None
    target_span: Span | None = None


@dataclass(frozen=True, slots=True)
class OrderStmt:
    """``order a before b`` (soft) or ``require a before b`` (hard, HP011)."""

    first: str
    relation: str  # "before" | "after"
    second: str
    hard: bool
    span: Span
    first_span: Span
    second_span: Span


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    span: Span


Item = Union[Header, Use, Include, Trainer, HookDecl, ScopeBlock, OrderStmt]


@dataclass(frozen=True, slots=True)
class File:
    path: str
    items: tuple[Item, ...]
    comments: tuple[Comment, ...]


def phase_attachments(items: tuple[Union[Chain, Bracket], ...]) -> list[Attachment]:
    """Every attachment of a phase block's items, brackets' contents included, in written order."""
    out: list[Attachment] = []
    for item in items:
        if isinstance(item, Bracket):
            out.extend(phase_attachments(item.chains))
        else:
            out.extend(item.attachments)
    return out
