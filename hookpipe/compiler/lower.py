"""Pass: lower the checked graphs into a ``Plan``.

Each phase's order is the topological order of its graph with ties broken by
declaration order, so the same input always yields the same plan, byte for byte.
"""

from __future__ import annotations

import networkx as nx

from hookpipe.compiler.context import Compilation, OrderGraph
from hookpipe.compiler.loop import split_validation_scope, validation_phase_order
from hookpipe.compiler.plan import (
    BRACKET_ENTER,
    Guard,
    HookSpec,
    PhasePlan,
    Plan,
    PlanEntry,
    callback_name,
    phase_order,
)


def lower(ctx: Compilation) -> None:
    phases = [_phase_plan(ctx, scope, phase) for scope, phase in phase_order()]
    validation = {
        hook: tuple(_phase_plan(ctx, scope, phase, split_validation_scope(scope)[1])  # type: ignore[index]
                    for scope, phase in validation_phase_order(hook))
        for hook in ctx.validation_hooks()
    }
    hooks = tuple(
        HookSpec(name, info.type_name, info.builtin is not None and not info.builtin.seed_class, info.args,
                 info.all_effects, info.decl.span, collective=info.collective and info.builtin is None)
        for name, info in ctx.hooks.items()
    )
    ctx.plan = Plan(name=ctx.name, source=ctx.main, trainer=ctx.trainer, hooks=hooks, phases=tuple(phases),
                    validation=validation)


def _phase_plan(ctx: Compilation, scope: str, phase: str, plan_scope: str | None = None) -> PhasePlan:
    """One phase's entries; ``plan_scope`` names a validation run's scope in the Plan (``batch``...)."""
    nodes, guards, always = ctx.nodes, ctx.guards, Guard()
    graph = ctx.graphs.get((scope, phase))
    callback = callback_name(scope, phase)
    entries: list[PlanEntry] = []
    push = entries.append
    order = ctx.phase_orders.get((scope, phase))
    if order is None and graph is not None:
        order = declaration_order(graph)
    if any(nodes[i].opens for i in order or ()):
        entries = _bracketed(ctx, order or [], callback)
    else:
        for i in order or ():
            node = nodes[i]
            attachment = node.attachment
            push(PlanEntry(node.hook, callback, guards.get(i, always), attachment.on == "main", attachment.span))
    return PhasePlan(plan_scope or scope, phase, tuple(entries))


def _bracketed(ctx: Compilation, order: list[int], callback: str) -> list[PlanEntry]:
    """Entries with each bracket's contents nested in it (``check_order`` made them contiguous)."""
    nodes, always = ctx.nodes, Guard()
    top: list[PlanEntry] = []
    # (bracket node id, its entries so far); the phase itself is the bottom of the stack
    stack: list[tuple[int | None, list[PlanEntry]]] = [(None, top)]

    def close() -> None:
        bracket, inner = stack.pop()
        node = nodes[bracket]  # type: ignore[index]
        stack[-1][1].append(PlanEntry(node.hook, BRACKET_ENTER, always, False, node.attachment.span, tuple(inner)))

    for i in order:
        node = nodes[i]
        while stack[-1][0] != node.bracket:
            close()
        if node.opens:
            stack.append((i, []))
            continue
        a = node.attachment
        stack[-1][1].append(PlanEntry(node.hook, callback, ctx.guards.get(i, always), a.on == "main", a.span))
    while len(stack) > 1:
        close()
    return top


def declaration_order(graph: OrderGraph) -> list[int]:
    """Topological order, ties broken by the smallest node id (= first declaration).

    networkx's lexicographical topological sort takes the smallest ready node each
    time; a node's id is its declaration index, so it is its own sort key. Hubs
    (negative ids, see ``hookpipe.compiler.graph``) sort first, so each is passed
    the moment it is ready and releases its attachments exactly when the direct
    edges would have: the order is the one without hubs. They are left out.
    """
    try:
        order = list(nx.lexicographical_topological_sort(graph))
    except nx.NetworkXUnfeasible:
        raise ValueError("the graph has a cycle (check_order reports it before lowering)") from None
    return [node for node in order if node >= 0]
