"""Pass: one ordering graph per phase, every edge with all of its origins.

Edges come from (1) written order inside one phase block, (2) ``order`` and
``require`` statements, (3) the effect rule: per resource, writers run before
readers, readers before consumers (writers before consumers when nobody reads).

The effect rule relates every writer to every reader: 2,000 of each would be
4 million edges. Past a few pairs, a relation goes through *hubs* instead:
ordering nodes with negative ids (attachments have ids from 0) that stand for
"all of these have run", so the edges grow with the number of attachments. A
hub relates exactly the attachments the direct edges would (a hook that both
writes and reads is still not ordered against itself: a chain of prefix and
suffix hubs leaves it out), so reachability between attachments, the lowered
order and the cycles found are the same; consumers of the graph look through
hubs with ``hook_successors`` / ``hook_edges``.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import count
from typing import Iterator

from hookpipe.compiler.context import (
    HUB_ORIGIN,
    ORIGINS,
    Compilation,
    Node,
    OrderGraph,
    Origin,
    PhaseKey,
    edge_origins,
    hub_origin,
)
from hookpipe.compiler.plan import EFFECT_KINDS, Effects, callback_name


def build_graphs(ctx: Compilation) -> None:
    by_phase: dict[PhaseKey, list[Node]] = defaultdict(list)
    for node in ctx.nodes:
        by_phase[(node.scope, node.phase)].append(node)
    for key in ctx.phase_keys():
        graph = OrderGraph()
        nodes = by_phase.get(key, [])
        graph.add_nodes_from([n.id for n in nodes])
        _written(graph, nodes)
        _brackets(graph, nodes)
        _statements(ctx, graph, nodes)
        _effects(ctx, graph, nodes, callback_name(*key), count(-1, -1))
        ctx.graphs[key] = graph


def add_edge(graph: OrderGraph, u: int, v: int, origin: Origin) -> None:
    """Add ``u -> v`` or, if present, record one more origin for it.

    ``origins`` is a dict used as an insertion-ordered set: a file with thousands
    of repeated statements must not make this quadratic.
    """
    if u == v:
        return
    origins = edge_origins(graph, u, v)
    if origins is None:
        graph.add_edge(u, v, **{ORIGINS: {origin: None}})
    else:
        origins.setdefault(origin, None)


def _written(graph: OrderGraph, nodes: list[Node]) -> None:
    """What you read is what runs: each attachment after the previous one of its block.

    These are the graph's first edges and each pair is new, so they are added at once.
    """
    previous: dict[int, int] = {}
    edges: list[tuple[int, int, dict[str, dict[Origin, None]]]] = []
    add = edges.append
    for node in nodes:
        before = previous.get(node.block)
        if before is not None:
            add((before, node.id, {ORIGINS: {Origin("written", node.attachment.span, None, None): None}}))
        previous[node.block] = node.id
    graph.add_edges_from(edges)


def _brackets(graph: OrderGraph, nodes: list[Node]) -> None:
    """A bracket's enter runs before everything inside it (its exit after: the runtime's job)."""
    for node in nodes:
        if node.bracket is not None:
            add_edge(graph, node.bracket, node.id, Origin("bracket", node.attachment.span))


def _statements(ctx: Compilation, graph: OrderGraph, nodes: list[Node]) -> None:
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


#: A relation with at most this many (early, late) pairs gets direct edges: the graph of
#: any real pipeline has no hubs, and renders edge for edge.
DIRECT_PAIRS = 256


def _effects(ctx: Compilation, graph: OrderGraph, nodes: list[Node], callback: str, hubs: Iterator[int]) -> None:
    roles: dict[str, dict[str, list[Node]]] = defaultdict(lambda: {kind: [] for kind in EFFECT_KINDS})
    hooks = ctx.hooks
    for node in nodes:
        info = hooks[node.hook]
        effects = info.callbacks.get(callback, info.effects) if info.callbacks else info.effects  # ctx.node_effects
        if node.opens:  # a bracket's writes hold only inside it: see Compilation.node_effects
            effects = Effects(reads=effects.reads)
        if not (effects.writes or effects.reads or effects.consumes):
            continue
        for kind in EFFECT_KINDS:
            for resource in effects.of(kind):
                roles[resource][kind].append(node)
    for resource in sorted(roles):
        role = roles[resource]
        pairs = list(_RELATIONS)
        if not role["reads"]:
            pairs.append(("writes", "consumes", "write < consume"))
        for early, late, relation in pairs:
            origin = Origin("effect", resource=resource, relation=relation)
            if len(role[early]) * len(role[late]) <= DIRECT_PAIRS:
                for u in role[early]:
                    for v in role[late]:
                        if u.hook != v.hook:
                            add_edge(graph, u.id, v.id, origin)
            elif role[early] and role[late]:
                _through_hubs(graph, role[early], role[late], origin, hubs)


def _through_hubs(graph: OrderGraph, early: list[Node], late: list[Node], origin: Origin,
                  hubs: Iterator[int]) -> None:
    """Every ``early`` before every ``late`` of another hook, in O(len(early) + len(late)) edges.

    Hooks on both sides are numbered 1..k; prefix hub P_i has run once the pure
    early nodes and groups 1..i have, suffix hub S_i once groups i..k have. A late
    node of group i waits for P_(i-1) and S_(i+1), which is everyone but its own hook.
    """
    late_hooks = {n.hook for n in late}
    groups: dict[str, list[Node]] = {}
    pure: list[Node] = []
    for node in early:
        if node.hook in late_hooks:
            groups.setdefault(node.hook, []).append(node)
        else:
            pure.append(node)

    def hub() -> int:
        h = next(hubs)
        graph.add_node(h, **{HUB_ORIGIN: origin})
        return h

    prefix = [hub()]
    for node in pure:
        add_edge(graph, node.id, prefix[0], origin)
    for members in groups.values():
        prefix.append(hub())
        add_edge(graph, prefix[-2], prefix[-1], origin)
        for node in members:
            add_edge(graph, node.id, prefix[-1], origin)
    suffix: list[int | None] = [None] * (len(groups) + 2)
    for i, members in reversed(list(enumerate(groups.values(), 1))):
        suffix[i] = hub()
        if suffix[i + 1] is not None:
            add_edge(graph, suffix[i + 1], suffix[i], origin)  # type: ignore[arg-type]
        for node in members:
            add_edge(graph, node.id, suffix[i], origin)  # type: ignore[arg-type]
    index = {hook: i for i, hook in enumerate(groups, 1)}
    for node in late:
        group = index.get(node.hook)
        if group is None:
            add_edge(graph, prefix[-1], node.id, origin)
            continue
        i = group
        add_edge(graph, prefix[i - 1], node.id, origin)
        after = suffix[i + 1]
        if after is not None:
            add_edge(graph, after, node.id, origin)


def is_hub(node: int) -> bool:
    return node < 0


def hook_successors(graph: OrderGraph, u: int,
                    within: "set[int] | None" = None) -> dict[int, dict[Origin, None]]:
    """The attachments right after ``u``, directly or through hubs, each with the origins relating them.

    ``within`` limits the walk to those nodes (a strongly connected component).
    """
    direct: dict[int, dict[Origin, None]] = {}
    through: dict[int, list[tuple[int, Origin]]] = {}
    seen: set[int] = set()
    stack: list[tuple[int, int]] = [(u, 0)]  # (node, the hub the walk entered by; 0: none yet)
    while stack:
        node, entry = stack.pop()
        for v, data in graph.succ[node].items():
            if within is not None and v not in within:
                continue
            if v >= 0:
                if entry == 0:
                    direct.setdefault(v, {}).update(data[ORIGINS])
                else:
                    direct.setdefault(v, {})
                    through.setdefault(v, []).append((entry, hub_origin(graph, entry)))
            elif v not in seen:
                seen.add(v)
                stack.append((v, v if entry == 0 else entry))
    out: dict[int, dict[Origin, None]] = {}
    for v, found in direct.items():
        merged = dict(found)
        for _, origin in sorted(through.get(v, ()), reverse=True):  # hubs in the order they were made
            merged.setdefault(origin, None)
        out[v] = merged
    return out


def hook_edges(graph: OrderGraph) -> list[tuple[int, int, dict[Origin, None]]]:
    """Every (attachment, attachment, origins) the graph relates, hubs looked through, sorted."""
    return [(u, v, origins) for u in sorted(n for n in graph if n >= 0)
            for v, origins in sorted(hook_successors(graph, u).items())]
