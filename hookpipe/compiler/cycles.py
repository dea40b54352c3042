"""Pass: ordering cycles (HP004, HP005) and unmet ``require`` partners (HP011).

A cycle is printed in full, each edge with every origin. One that contains an
effect edge is HP005 and points at the two attachments that edge relates, since
that is the pair the user has to reorder.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from hookpipe.compiler.context import Compilation, Origin
from hookpipe.diagnostics import Note


def check_order(ctx: Compilation) -> None:
    for graph in ctx.graphs.values():
        for component in sorted(nx.strongly_connected_components(graph), key=min):
            if len(component) > 1:
                _report_cycle(ctx, graph, component)
    _requires(ctx)


def _report_cycle(ctx: Compilation, graph: "nx.DiGraph[int]", component: set[int]) -> None:
    sub = graph.subgraph(component)
    effect_edge = None
    for u, v, data in sorted(sub.edges(data=True), key=lambda e: (e[0], e[1])):
        if any(o.kind == "effect" for o in data["origins"]):
            effect_edge = (u, v)
            break
    if effect_edge is not None:
        u, v = effect_edge
    else:
        u = min(component)
        v = min(sub.successors(u))
    back = nx.shortest_path(sub, v, u)
    cycle = [u, *back]
    notes = tuple(_edge_notes(ctx, graph, cycle))
    nu, nv = ctx.nodes[u], ctx.nodes[v]
    phase = f"{nu.scope}.{nu.phase}"
    if effect_edge is not None:
        origin = next(o for o in graph.edges[u, v]["origins"] if o.kind == "effect")
        early, late = (origin.relation or "").split(" < ")
        ctx.error(
            "HP005",
            f"effect order violated in {phase}: `{nu.hook}` {_verb(early)} `{origin.resource}`, "
            f"so it must run before `{nv.hook}`, which {_verb(late)} it",
            nu.span,
            notes=(Note(f"`{nv.hook}` {_verb(late)} `{origin.resource}` here", nv.span), *notes),
            help=f"move `{nu.hook}` before `{nv.hook}` (e.g. `{nu.hook} -> {nv.hook}`)",
        )
    else:
        names = " -> ".join(ctx.nodes[n].hook for n in cycle)
        ctx.error("HP004", f"ordering cycle in {phase}: {names}", nu.span, notes=notes,
                  help="remove or reverse one of the constraints listed above")


def _verb(role: str) -> str:
    return {"write": "writes", "read": "reads", "consume": "consumes"}.get(role, role)


def _edge_notes(ctx: Compilation, graph: "nx.DiGraph[int]", cycle: list[int]) -> list[Note]:
    notes = []
    for a, b in zip(cycle, cycle[1:]):
        origins: dict[Origin, None] = graph.edges[a, b]["origins"]
        for origin in origins:
            text = f"`{ctx.nodes[a].hook}` -> `{ctx.nodes[b].hook}`: {origin.describe(with_location=False)}"
            notes.append(Note(text, origin.span if origin.kind != "effect" else None))
    return notes


def _requires(ctx: Compilation) -> None:
    hard = [s for s in ctx.orders if s.hard]
    if not hard:
        return
    attached: dict[tuple[str, str], set[str]] = defaultdict(set)
    for node in ctx.nodes:
        attached[node.key].add(node.hook)
    for stmt in hard:
        for node in ctx.nodes:
            if node.hook == stmt.first and stmt.second not in attached[node.key]:
                ctx.error("HP011", f"`{stmt.first}` must run {stmt.relation} `{stmt.second}` in "
                          f"{node.scope}.{node.phase}, but `{stmt.second}` is not attached there", node.span,
                          notes=(Note("required here", stmt.span),),
                          help=f"attach `{stmt.second}` in the same phase block")
