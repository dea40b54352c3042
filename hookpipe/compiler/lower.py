"""Pass: lower the checked graphs into a ``Plan``.

Each phase's order is the topological order of its graph with ties broken by
declaration order, so the same input always yields the same plan, byte for byte.
"""

from __future__ import annotations

import networkx as nx

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.plan import Guard, HookSpec, PhasePlan, Plan, PlanEntry, callback_name, phase_order


def lower(ctx: Compilation) -> None:
    phases = []
    for scope, phase in phase_order():
        graph = ctx.graphs.get((scope, phase))
        order = list(nx.lexicographical_topological_sort(graph)) if graph is not None else []
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
        HookSpec(name, info.type_name, info.builtin is not None, info.args, info.effects, info.decl.span)
        for name, info in ctx.hooks.items()
    )
    ctx.plan = Plan(name=ctx.name, source=ctx.main, trainer=ctx.trainer, hooks=hooks, phases=tuple(phases))
