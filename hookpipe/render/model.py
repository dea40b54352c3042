"""What a picture of a pipeline shows, independent of the drawing language.

The compilation is turned into a small tree (scope clusters holding phase
clusters holding attachment nodes) plus a list of edges, each edge one *kind*
of origin between two attachments. The DOT and Mermaid writers are visitors
over this tree, so both draw exactly the same thing, and everything here is in
a fixed order (loop order of scopes, declaration order of attachments, sorted
edges): the same file always gives the same text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Iterator

from hookpipe.compiler.context import Compilation, Node, OrderGraph, Origin
from hookpipe.compiler.graph import hook_edges
from hookpipe.compiler.loop import split_validation_scope, validation_scope
from hookpipe.compiler.plan import PARENT, PHASES, SCOPES, Plan
from hookpipe.dsl.formatter import ValuePrinter
from hookpipe.escaping import escape

#: Edge kinds, in the order parallel edges are drawn.
EDGE_KINDS: tuple[str, ...] = ("written", "order", "require", "effect", "bracket", "plan")


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One attachment: ``id`` is its declaration index (the DOT node is ``a<id>``)."""

    id: int
    hook: str
    type: str
    frequency: str  # "every 200 steps", "" when it runs every time
    main_only: bool
    error: bool = False  # an error diagnostic points at this attachment
    #: From ``render --profile`` (see :mod:`hookpipe.render.heat`): a label line, and
    #: the node's time relative to the slowest node (None: no profile applied).
    timing: str = ""
    heat: float | None = None
    #: From ``render --diff`` (see :mod:`hookpipe.render.diff`): "added", "removed",
    #: "moved", "retimed" (its frequency changed), "changed" (its hook's arguments, type or
    #: effects changed), "unchanged"; empty when no comparison is drawn.
    change: str = ""
    #: From ``render --diff``: label lines saying what changed in the hook's declaration,
    #: ``max_norm: 1.0 -> 0.5`` (escaped), on every attachment of a hook that changed.
    declaration: tuple[str, ...] = ()


@dataclass
class PhaseCluster:
    scope: str
    phase: str
    nodes: list[GraphNode] = field(default_factory=list)


@dataclass
class ScopeCluster:
    """A scope drawn as a box: its ``before`` phase, nested scopes, then its ``after`` phase."""

    name: str
    before: PhaseCluster
    children: list["ScopeCluster"]
    after: PhaseCluster


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """All origins of one kind between two attachments; ``label`` names resources or the statement."""

    source: int
    target: int
    kind: str  # one of EDGE_KINDS
    label: str
    bad: bool  # part of an ordering cycle: the edges that explain HP004 / HP005
    change: str = ""  # as GraphNode.change: "added", "removed", "unchanged" or empty


@dataclass
class GraphModel:
    title: str
    root: ScopeCluster
    edges: list[GraphEdge]
    errors: int = 0
    #: A comparison is drawn (``render --diff``): the legend says what the colours mean.
    diff: bool = False
    #: Lines under the legend (escaped): what the picture cannot show, such as trainer
    #: settings that changed or why nothing was compared (``render --diff``).
    notes: list[str] = field(default_factory=list)

    @property
    def node_count(self) -> int:
        return len(list(iter_nodes(self.root)))


def iter_nodes(cluster: ScopeCluster) -> Iterator[GraphNode]:
    """Every attachment node under ``cluster``, in drawing order."""
    yield from cluster.before.nodes
    for child in cluster.children:
        yield from iter_nodes(child)
    yield from cluster.after.nodes


def from_compilation(ctx: Compilation) -> GraphModel:
    """The picture of a compilation, errors included.

    Drawn from what the compiler returned, passes are never run here: compile with
    ``for_drawing=True`` (``compile_path``) to have the ordering graphs of a
    pipeline whose errors stopped the compiler early. The edges a cycle report
    blames are marked ``bad``: the violated effect edge an HP005 names, every step of
    the cycle an HP004 prints.
    """
    printer = ValuePrinter(())
    error_spans = {d.span for d in ctx.diagnostics if d.severity == "error"}
    nodes = [
        GraphNode(
            id=n.id,
            hook=n.hook,
            type=escape(ctx.hooks[n.hook].type_name) if n.hook in ctx.hooks else "?",
            frequency=_frequency(printer, n),
            main_only=n.attachment.on == "main",
            error=n.span in error_spans or n.attachment.name_span in error_spans,
        )
        for n in ctx.nodes
    ]
    by_phase: dict[tuple[str, str], list[GraphNode]] = defaultdict(list)
    for node, graph_node in zip(ctx.nodes, nodes):
        by_phase[node.key].append(graph_node)
    edges: list[GraphEdge] = []
    for key in sorted(ctx.graphs, key=_phase_rank):
        edges.extend(_edges(ctx.graphs[key], ctx.cycle_edges.get(key, set())))
    errors = sum(1 for d in ctx.diagnostics if d.severity == "error")
    title = _title(ctx.name, ctx.main) + (f"  ({errors} error{'s' if errors != 1 else ''})" if errors else "")
    return GraphModel(title, _tree(by_phase), edges, errors)


def from_plan(plan: Plan) -> GraphModel:
    """A picture from the Plan alone: no origins are known, so edges follow the lowered order."""
    by_phase: dict[tuple[str, str], list[GraphNode]] = defaultdict(list)
    edges: list[GraphEdge] = []
    index = 0
    for phase_plan, entry in plan.entries():
        spec = plan.hook(entry.hook)
        freq = entry.guard.describe()
        node = GraphNode(index, entry.hook, escape(spec.type), freq, entry.main_only)
        scope = phase_plan.scope
        if phase_plan not in plan.phases:  # a validation run's phase: the compiler's name for its scope
            scope = next(validation_scope(h, scope) for h, ps in plan.validation.items() if phase_plan in ps)
        phase_nodes = by_phase[(scope, phase_plan.phase)]
        if phase_nodes:
            edges.append(GraphEdge(phase_nodes[-1].id, index, "plan", "", False))
        phase_nodes.append(node)
        index += 1
    return GraphModel(_title(plan.name, plan.source), _tree(by_phase), edges)


def _frequency(printer: ValuePrinter, node: Node) -> str:
    """The attachment's modifiers as written, less ``on main`` (shown on its own line)."""
    a = node.attachment
    text = printer.visit_Attachment(a)[len(a.hook):].strip()
    if a.on is not None:
        text = text[: -len(f"on {a.on}")].strip()
        if a.on != "main":
            text = f"{text} on {a.on}".strip()
    return text


def _title(name: str | None, source: str) -> str:
    """The picture's title: the file's ``pipeline`` name and its file name, escaped (a renderer
    refuses control characters, and a picture is output like any other)."""
    file = escape(PurePath(source).name) if source else ""
    name = escape(name) if name else None
    if name and file:
        return f"{name} ({file})"
    return name or file or "pipeline"


def _phase_rank(key: tuple[str, str]) -> tuple[int, str, int]:
    if split_validation_scope(key[0]) is not None:  # validation runs after the loop's scopes, by hook name
        return (len(SCOPES), key[0], PHASES.index(key[1]))
    return (SCOPES.index(key[0]), "", PHASES.index(key[1]))


def _tree(by_phase: dict[tuple[str, str], list[GraphNode]]) -> ScopeCluster:
    """Scope clusters for every scope that holds an attachment, with their ancestors; loop always."""
    drawn = {"loop"}
    runs = sorted({split[0] for scope, _ in by_phase if (split := split_validation_scope(scope)) is not None})
    for scope, _ in by_phase:
        if split_validation_scope(scope) is not None:
            continue
        while scope is not None:
            drawn.add(scope)
            scope = PARENT[scope]  # type: ignore[assignment]

    def cluster(scope: str, children: list[ScopeCluster]) -> ScopeCluster:
        return ScopeCluster(scope, PhaseCluster(scope, "before", by_phase.get((scope, "before"), [])),
                            children, PhaseCluster(scope, "after", by_phase.get((scope, "after"), [])))

    def build(scope: str) -> ScopeCluster:
        children = [build(s) for s in SCOPES if PARENT[s] == scope and s in drawn]
        if scope == "loop":  # each validation run's scopes: a box in the loop's, its batches inside
            children += [cluster(validation_scope(h, "validation"), [cluster(validation_scope(h, "batch"), [])])
                         for h in runs]
        return cluster(scope, children)

    return build("loop")


def _edges(graph: OrderGraph, blamed: set[tuple[int, int]]) -> list[GraphEdge]:
    found: list[GraphEdge] = []
    for u, v, origins in hook_edges(graph):  # hubs looked through: an edge joins two attachments
        bad = (u, v) in blamed
        for kind in EDGE_KINDS:
            of_kind = [o for o in origins if o.kind == kind]
            if of_kind:
                found.append(GraphEdge(u, v, kind, _label(kind, of_kind), bad))
    return found


def _label(kind: str, origins: list[Origin]) -> str:
    if kind == "effect":
        return ", ".join(sorted({o.resource or "?" for o in origins}))
    if kind in ("order", "require"):
        return kind
    if kind == "bracket":
        return "with"
    return ""
