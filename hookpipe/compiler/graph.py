"""Pass: one ordering graph per phase, every edge with all of its origins.

Edges come from (1) written order inside one phase block, (2) ``order`` and
``require`` statements, (3) the effect rule: per resource, writers run before
readers, readers before consumers (writers before consumers when nobody reads).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from hookpipe.compiler.context import Compilation, Node, Origin, PhaseKey
from hookpipe.compiler.plan import phase_order


def build_graphs(ctx: Compilation) -> None:
    by_phase: dict[PhaseKey, list[Node]] = defaultdict(list)
    for node in ctx.nodes:
        by_phase[node.key].append(node)
    for key in phase_order():
        graph: nx.DiGraph[int] = nx.DiGraph()
        nodes = by_phase.get(key, [])
        graph.add_nodes_from(n.id for n in nodes)
        _written(graph, nodes)
        _statements(ctx, graph, nodes)
        _effects(ctx, graph, nodes)
        ctx.graphs[key] = graph


def add_edge(graph: "nx.DiGraph[int]", u: int, v: int, origin: Origin) -> None:
    """Add ``u -> v`` or, if present, record one more origin for it.

    ``origins`` is a dict used as an insertion-ordered set: a file with thousands
    of repeated statements must not make this quadratic.
    """
    if u == v:
        return
    data = graph.get_edge_data(u, v)
    if data is None:
        graph.add_edge(u, v, origins={origin: None})
    else:
        data["origins"].setdefault(origin, None)


def _written(graph: "nx.DiGraph[int]", nodes: list[Node]) -> None:
    """What you read is what runs: each attachment after the previous one of its block."""
    previous: dict[int, Node] = {}
    for node in nodes:
        before = previous.get(node.block)
        if before is not None:
            add_edge(graph, before.id, node.id, Origin("written", node.span))
        previous[node.block] = node


def _statements(ctx: Compilation, graph: "nx.DiGraph[int]", nodes: list[Node]) -> None:
    if not ctx.orders or len(nodes) < 2:
        return
    by_hook: dict[str, list[int]] = defaultdict(list)
    for node in nodes:
        by_hook[node.hook].append(node.id)
    for stmt in ctx.orders:
        first, second = by_hook.get(stmt.first, []), by_hook.get(stmt.second, [])
        if stmt.relation == "after":
            first, second = second, first
        origin = Origin("require" if stmt.hard else "order", stmt.span)
        for u in first:
            for v in second:
                add_edge(graph, u, v, origin)


_RELATIONS = (("writes", "reads", "write < read"), ("reads", "consumes", "read < consume"))


def _effects(ctx: Compilation, graph: "nx.DiGraph[int]", nodes: list[Node]) -> None:
    roles: dict[str, dict[str, list[Node]]] = defaultdict(lambda: {"writes": [], "reads": [], "consumes": []})
    for node in nodes:
        effects = ctx.node_effects(node)
        for kind in ("writes", "reads", "consumes"):
            for resource in getattr(effects, kind):
                roles[resource][kind].append(node)
    for resource in sorted(roles):
        role = roles[resource]
        pairs = list(_RELATIONS)
        if not role["reads"]:
            pairs.append(("writes", "consumes", "write < consume"))
        for early, late, relation in pairs:
            origin = Origin("effect", resource=resource, relation=relation)
            for u in role[early]:
                for v in role[late]:
                    if u.hook != v.hook:
                        add_edge(graph, u.id, v.id, origin)
