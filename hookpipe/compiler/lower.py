"""Pass: lower the checked graphs into a ``Plan``.

Each phase's order is the topological order of its graph with ties broken by
declaration order, so the same input always yields the same plan, byte for byte.
"""

from __future__ import annotations

import heapq

import networkx as nx

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.plan import Guard, HookSpec, PhasePlan, Plan, PlanEntry, callback_name, phase_order


def lower(ctx: Compilation) -> None:
    phases = []
    for scope, phase in phase_order():
        graph = ctx.graphs.get((scope, phase))
        order = declaration_order(graph) if graph is not None else []
        entries = tuple(
            PlanEntry(
                hook=ctx.nodes[i].hook,
                callback=callback_name(scope, phase),
                guard=ctx.guards.get(i, Guard()),
                main_only=ctx.nodes[i].attachment.on == "main",
                span=ctx.nodes[i].span,
            )
            for i in order
        )
        phases.append(PhasePlan(scope, phase, entries))
    hooks = tuple(
        HookSpec(name, info.type_name, info.builtin is not None, info.args, info.all_effects, info.decl.span,
                 collective=info.collective and info.builtin is None)
        for name, info in ctx.hooks.items()
    )
    ctx.plan = Plan(name=ctx.name, source=ctx.main, trainer=ctx.trainer, hooks=hooks, phases=tuple(phases))


def declaration_order(graph: "nx.DiGraph[int]") -> list[int]:
    """Topological order, ties broken by the smallest node id (= first declaration).

    Hubs (negative ids, see ``hookpipe.compiler.graph``) sort first, so each is
    passed the moment it is ready and releases its attachments exactly when the
    direct edges would have: the order is the one without hubs. They are left out.

    The same order as ``nx.lexicographical_topological_sort(graph)`` (a test holds
    them equal), without its per-node key calls and checks: nodes are ints
    already, so Kahn's algorithm over a heap of ready ids is all it takes.
    """
    indegree = dict(graph.in_degree())
    ready = [node for node, degree in indegree.items() if degree == 0]
    heapq.heapify(ready)
    successors = graph.succ
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) != len(indegree):
        raise ValueError("the graph has a cycle (check_order reports it before lowering)")
    return [node for node in order if node >= 0]
