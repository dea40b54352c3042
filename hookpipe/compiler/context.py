"""The state the compiler passes share: what each pass reads and adds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, TypeAlias, cast

import networkx as nx

from hookpipe.compiler.catalog import HookType
from hookpipe.compiler.loop import split_validation_scope, validation_phase_order
from hookpipe.compiler.plan import Effects, Guard, Plan, callback_name, phase_order
from hookpipe.diagnostics import Diagnostic, Sources
from hookpipe.dsl import ast
from hookpipe.dsl.span import Span

if TYPE_CHECKING:
    from hookpipe.compiler.class_effects import ClassLookup

PhaseKey = tuple[str, str]  # (scope, phase)


@dataclass(frozen=True, slots=True)
class Origin:
    """Why an ordering edge exists: written order, an order/require statement, or an effect rule."""

    kind: str  # "written" | "order" | "require" | "effect" | "bracket"
    span: Span | None = None
    resource: str | None = None
    relation: str | None = None  # e.g. "write < consume"

    def describe(self, with_location: bool = True) -> str:
        where = f" ({self.span})" if with_location and self.span else ""
        if self.kind == "written":
            return f"written order{where}"
        if self.kind == "bracket":
            return f"inside a bracket{where}"
        if self.kind in ("order", "require"):
            return f"`{self.kind}` statement{where}"
        return f"effect rule: {self.resource} ({self.relation})"


#: One phase's ordering graph, a networkx ``DiGraph``: attachments (ids from 0) and hubs
#: (negative ids, each with the Origin it stands for as node attribute :data:`HUB_ORIGIN`);
#: each edge carries its origins as edge attribute :data:`ORIGINS`, a dict used as an
#: insertion-ordered set. networkx is untyped, so the alias documents what the graph holds.
OrderGraph: TypeAlias = nx.DiGraph

#: The edge attribute holding an edge's origins (``dict[Origin, None]``).
ORIGINS = "origins"
#: The node attribute holding the Origin a hub stands for.
HUB_ORIGIN = "origin"


def edge_origins(graph: OrderGraph, u: int, v: int) -> dict[Origin, None] | None:
    """The origins of ``u -> v``, None when there is no such edge."""
    data = graph.get_edge_data(u, v)
    return None if data is None else cast("dict[Origin, None]", data[ORIGINS])


def hub_origin(graph: OrderGraph, hub: int) -> Origin:
    """The Origin a hub (a negative node id) stands for."""
    return cast(Origin, graph.nodes[hub][HUB_ORIGIN])


@dataclass(frozen=True, slots=True)
class HookInfo:
    decl: ast.HookDecl
    type_name: str  # built-in name or import path ("module:attr" or dotted)
    builtin: HookType | None
    effects: Effects
    args: dict[str, Any]
    #: False when an argument failed to resolve (already reported): skip schema checks.
    args_ok: bool = True
    #: Callbacks with effects of their own (a class's per-callback ``effects``); the
    #: others have :attr:`effects`.
    callbacks: Mapping[str, Effects] = field(default_factory=dict)
    #: Runs a collective (catalog, ``collective`` in the .pipe block, or the class): never `on main`.
    collective: bool = False

    def effects_at(self, callback: str) -> Effects:
        """The effects of one callback (what ordering and per-phase rules use)."""
        return self.callbacks.get(callback, self.effects)

    @property
    def all_effects(self) -> Effects:
        """Everything any callback touches (what the Plan records)."""
        if not self.callbacks:
            return self.effects
        return Effects.union(self.effects, *self.callbacks.values())


@dataclass(frozen=True, slots=True)
class Node:
    """One attachment of a hook in one phase: a node of that phase's graph."""

    id: int  # declaration index: ties in the lowered order break by it
    hook: str
    scope: str
    phase: str
    block: int  # which phase block (or bracket body) it was written in
    attachment: ast.Attachment
    #: The id of the bracket node (``with NAME { }``) this attachment is inside, if any.
    bracket: int | None = None
    #: This node is a bracket itself: its hook's enter/exit around the attachments inside.
    opens: bool = False

    @property
    def key(self) -> PhaseKey:
        return (self.scope, self.phase)

    @property
    def span(self) -> Span:
        return self.attachment.span

    @property
    def callback(self) -> str:
        return callback_name(self.scope, self.phase)


@dataclass
class Compilation:
    """Everything known about one pipeline so far."""

    files: list[tuple[ast.File, int]]
    sources: Sources
    main: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    name: str | None = None
    uses: dict[str, ast.Use] = field(default_factory=dict)
    hooks: dict[str, HookInfo] = field(default_factory=dict)
    settings: dict[str, ast.Setting] = field(default_factory=dict)
    trainer: dict[str, Any] = field(default_factory=dict)
    trainer_span: Span | None = None
    orders: list[ast.OrderStmt] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    guards: dict[int, Guard] = field(default_factory=dict)
    graphs: dict[PhaseKey, OrderGraph] = field(default_factory=dict)
    #: Each acyclic phase graph's order (attachment ids), found by ``check_order`` while
    #: it looks for cycles, so that lowering does not sort the graph again.
    phase_orders: dict[PhaseKey, list[int]] = field(default_factory=dict)
    #: The edges (attachment ids) each phase's cycle reports blame; ``render`` marks them.
    cycle_edges: dict[PhaseKey, set[tuple[int, int]]] = field(default_factory=dict)
    plan: Plan | None = None
    #: An include failed (HP010 or a syntax error): what it declares is unknown.
    incomplete: bool = False
    #: Unknown names not reported because an include failed: values built from them are
    #: None, and checking those values would report a cascade of misleading errors.
    unresolved: int = 0
    #: With ``--resolve`` (and in ``hookpipe run``): what custom hook classes declare.
    classes: "ClassLookup | None" = None

    def error(self, code: str, message: str, span: Span, **kw: Any) -> None:
        self.diagnostics.append(Diagnostic(code, "error", message, span, **kw))

    def unknown(self, code: str, message: str, span: Span, **kw: Any) -> None:
        """Report a name that is not declared, unless an include failed to load.

        The name may well be declared in the file that could not be read; the
        HP010 or HP001 already reported says what to fix, and a cascade of
        unknown names would bury it.
        """
        if not self.incomplete:
            self.error(code, message, span, **kw)
        else:
            self.unresolved += 1

    def warn(self, code: str, message: str, span: Span, **kw: Any) -> None:
        self.diagnostics.append(Diagnostic(code, "warning", message, span, **kw))

    def validation_hooks(self) -> list[str]:
        """The validation hooks whose own scopes have attachments (``validation NAME { }``), by name."""
        found = {split[0] for node in self.nodes if (split := split_validation_scope(node.scope)) is not None}
        return sorted(found)

    def phase_keys(self) -> list[PhaseKey]:
        """Every phase: the loop's twelve in visiting order, then each validation run's four."""
        return [*phase_order(), *(k for h in self.validation_hooks() for k in validation_phase_order(h))]

    def items(self) -> list[ast.Item]:
        return [item for f, _ in self.files for item in f.items]

    def node_effects(self, node: Node) -> Effects:
        """The effects of the callback an attachment runs.

        A bracket's writes and consumes hold only inside it (it restores them on exit),
        so towards the rest of the phase it only reads.
        """
        effects = self.hooks[node.hook].effects_at(node.callback)
        return Effects(reads=effects.reads) if node.opens else effects

    def node_label(self, node_id: int) -> str:
        return self.nodes[node_id].hook
