"""Pass: ordering cycles (HP004, HP005) and unmet ``require`` partners (HP011).

A cycle is printed in full, each edge with every origin. One that contains an
effect edge is HP005 and points at the two attachments of the effect edge that is
actually violated: the one whose two hooks the file's own order (written order,
``order``/``require`` statements) puts the other way round. Running the first of
that pair before the second is then what removes the error, and that is what the
help says; ``render`` marks that edge (``Compilation.cycle_edges``).

The file's own order can also contradict itself: a line moved above a chain while
an ``order`` statement still orders the chain first. Every effect edge on that cycle
is then both kept and reversed by the file, so none of them is "the" violated one;
the report names the cycle of the file's own order instead, and blames the steps
no effect rule backs (those the user can change), and its help lists only edits
tried on the graph first (``hookpipe.compiler.cycle_fixes``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import networkx as nx

from hookpipe.compiler.brackets import bracket_order, has_brackets
from hookpipe.compiler.context import ORIGINS, Compilation, OrderGraph, Origin, edge_origins, hub_origin
from hookpipe.compiler.cycle_fixes import STATEMENTS, working_edits
from hookpipe.compiler.graph import hook_successors, is_hub
from hookpipe.compiler.lower import declaration_order
from hookpipe.diagnostics import Note
from hookpipe.dsl.span import Span


def check_order(ctx: Compilation) -> None:
    """Order each phase (what lowering uses) or, when its graph has a cycle, report every cycle.

    Most graphs have none, and the topological sort that orders a graph is also the
    cheapest way to tell.
    """
    for key, graph in ctx.graphs.items():
        try:
            order = declaration_order(graph)
            if has_brackets(ctx.nodes, order):
                arranged = bracket_order(ctx, key, graph)
                if arranged is None:
                    continue
                order = arranged
            ctx.phase_orders[key] = order
        except ValueError:
            for component in sorted(cycles(graph), key=lambda c: min(n for n in c if n >= 0)):
                blamed = _report_cycle(ctx, graph, component)
                ctx.cycle_edges.setdefault(key, set()).update(blamed)
    _requires(ctx)


def cycles(graph: OrderGraph) -> list[set[int]]:
    """The strongly connected components of more than one node: each holds a cycle."""
    return [c for c in nx.strongly_connected_components(graph) if len(c) > 1]


def _report_cycle(ctx: Compilation, graph: OrderGraph, component: set[int]) -> set[tuple[int, int]]:
    """One diagnostic per cycle: the violated effect edge (else the first edge) and the way back.

    A cycle of the file's own order that no effect edge explains goes to
    ``_report_contradiction`` instead.

    Hubs (see ``hookpipe.compiler.graph``) may lie on the cycle; the report
    names only attachments, each step with the origins relating its two ends.
    Returns the edges the report blames: the violated effect edge for HP005,
    every step of the printed cycle for HP004 (no one edge is at fault there).
    """
    members = sorted(n for n in component if n >= 0)
    sub = graph.subgraph(component)
    successors: dict[int, dict[int, dict[Origin, None]]] = {}

    def after(a: int) -> dict[int, dict[Origin, None]]:
        if a not in successors:
            successors[a] = hook_successors(graph, a, component)
        return successors[a]

    own = _own_order(sub)
    effect_edge, stated = _violated(own, members, after)
    if effect_edge is not None and stated is None:
        contradiction = _contradiction(own, after)
        if contradiction is not None:
            return _report_contradiction(ctx, graph, component, contradiction, after)
    if effect_edge is not None:
        u, v = effect_edge
    else:
        u = members[0]
        v = min(after(u))
    if stated is not None:  # the file's own order, back from v to u: direct edges between attachments
        steps = [(a, b, dict(edge_origins(graph, a, b) or {})) for a, b in zip(stated, stated[1:])]
        steps.insert(0, (u, v, after(u)[v]))
    else:
        back = nx.shortest_path(sub, v, u)
        steps = _steps(graph, [*_first_leg(graph, u, v, component), *back[1:]])
        steps[0] = (u, v, after(u)[v])  # every relation of the pair, hubs included
    cycle = [u, *(b for _, b, _ in steps)]
    notes = tuple(_edge_notes(ctx, steps))
    nu, nv = ctx.nodes[u], ctx.nodes[v]
    phase = f"{nu.scope}.{nu.phase}"
    if effect_edge is not None:
        origin = next(o for o in steps[0][2] if o.kind == "effect")
        early, late = (origin.relation or "").split(" < ")
        ctx.error(
            "HP005",
            f"effect order violated in {phase}: `{nu.hook}` {_verb(early)} `{origin.resource}`, "
            f"so it must run before `{nv.hook}`, which {_verb(late)} it",
            nu.span,
            notes=(Note(f"`{nv.hook}` {_verb(late)} `{origin.resource}` here", nv.span), *notes),
            help=_help(nu.hook, nv.hook, steps[1:], stated is not None and not _effects_alone(sub, v, u)),
        )
        return {(u, v)}
    names = " -> ".join(ctx.nodes[n].hook for n in cycle)
    ctx.error("HP004", f"ordering cycle in {phase}: {names}", nu.span, notes=notes,
              help="remove or reverse one of the constraints listed above")
    return {(a, b) for a, b, _ in steps}


#: How many attachments of one cycle are searched for a violated effect edge once an
#: effect edge has been found: each costs a walk of the cycle, and a cycle of thousands
#: of attachments (effects through hubs) would otherwise take quadratic time. Real
#: cycles have a handful; past the limit the report falls back to the first effect edge.
SEARCH_LIMIT = 64


def _own_order(sub: OrderGraph) -> nx.DiGraph:
    """The file's own order: every relation with an origin other than an effect rule.

    Written order and statements are always direct edges between two attachments,
    since hubs carry effects only.
    """
    stated = nx.DiGraph()
    stated.add_edges_from((a, b) for a, b, origins in sub.edges(data=ORIGINS)
                          if a >= 0 and b >= 0 and any(o.kind != "effect" for o in origins))
    return stated


def _violated(stated: nx.DiGraph, members: list[int], after: Callable[[int], dict[int, dict[Origin, None]]]
              ) -> tuple[tuple[int, int] | None, list[int] | None]:
    """The first effect edge ``u -> v`` that the file's own order reverses, and that order from ``v`` to ``u``.

    Reversed means ordered ``v`` before ``u`` and not also ``u`` before ``v``: when a
    cycle of the file's own order holds both (``_contradiction``), following the
    effect edge is no fix. When no effect edge is reversed (the effects themselves,
    or the file's order by itself, close the cycle), the first effect edge and None.
    """
    group = {n: i for i, c in enumerate(nx.strongly_connected_components(stated)) for n in c}
    first: tuple[int, int] | None = None
    for searched, u in enumerate(members):
        if searched >= SEARCH_LIMIT and first is not None:
            break
        effect = sorted(b for b, origins in after(u).items() if any(o.kind == "effect" for o in origins))
        if not effect:
            continue
        if first is None:
            first = (u, effect[0])
        if u not in stated:
            continue
        reaching = nx.ancestors(stated, u)
        v = next((b for b in effect if b in reaching and group[b] != group[u]), None)
        if v is not None:
            return (u, v), nx.shortest_path(stated, v, u)
    return first, None


def _contradiction(stated: nx.DiGraph, after: Callable[[int], dict[int, dict[Origin, None]]]) -> list[int] | None:
    """A cycle of the file's own order through a step no effect rule backs, closed (``[a, b, ..., a]``).

    Such a step (``a -> b``) is one the user can change; the rest of the cycle is the
    shortest way back from ``b`` to ``a``. None when the file's order has no cycle, or
    only cycles whose every step an effect rule also backs (the effects conflict).
    """
    group = {n: i for i, c in enumerate(nx.strongly_connected_components(stated)) for n in c}
    for a, b in sorted(stated.edges):
        if group[a] == group[b] and not any(o.kind == "effect" for o in after(a)[b]):
            return [a, *nx.shortest_path(stated, b, a)]
    return None


def _report_contradiction(ctx: Compilation, graph: OrderGraph, component: set[int], cycle: list[int],
                          after: Callable[[int], dict[int, dict[Origin, None]]]) -> set[tuple[int, int]]:
    """Report a cycle of the file's own order, blaming the steps no effect rule backs.

    Those are the steps an edit of the file can remove (an effect-backed one stays,
    whatever the file says); the primary span is what the first working edit changes
    (the attachment to move, the statement to remove). HP005 when an effect rule backs
    some step, else HP004. Returns the blamed steps, for ``render``.
    """
    steps = [(a, b, after(a)[b]) for a, b in zip(cycle, cycle[1:])]
    free = [step for step in steps if not any(o.kind == "effect" for o in step[2])]
    names = " -> ".join(ctx.nodes[n].hook for n in cycle)
    notes = _edge_notes(ctx, steps)
    first = ctx.nodes[cycle[0]]
    phase = f"{first.scope}.{first.phase}"
    if len(free) == len(steps):
        ctx.error("HP004", f"ordering cycle in {phase}: {names}", first.span, notes=tuple(notes),
                  help="remove or reverse one of the constraints listed above")
        return {(a, b) for a, b, _ in steps}
    edits = [(step, edit) for step, found in zip(free, working_edits(ctx, graph, component, free))
             for edit in found]
    chosen = [(step, edit) for step, edit in edits if edit.whole] or edits
    a, b, origins = chosen[0][0] if chosen else free[0]
    span = chosen[0][1].span if chosen else _changed_at(ctx, a, origins)
    listed = ", ".join(f"`{ctx.nodes[u].hook}` -> `{ctx.nodes[v].hook}`" for u, v, _ in free)
    why = Note(f"no effect rule backs {listed}: {'that is the step' if len(free) == 1 else 'those are the steps'} "
               "an edit of this file can remove")
    help_text = ", or ".join(dict.fromkeys(edit.text for _, edit in chosen))
    if not chosen:
        help_text = ("no single move of an attachment or removal of a statement was found that clears it: reverse "
                     "or remove one of the steps no effect rule backs (see the notes), and compile again")
    elif not chosen[0][1].whole:
        help_text += " (other cycles among these hooks remain: compile again for the next one)"
    ctx.error("HP005", f"effect order violated in {phase}: {_claim(ctx, a, b, origins)}, but the cycle's other "
              f"steps order `{ctx.nodes[b].hook}` before `{ctx.nodes[a].hook}`: {names}", span,
              notes=(why, *notes), help=help_text, remedies=tuple(dict.fromkeys(edit.remedy for _, edit in chosen)))
    return {(u, v) for u, v, _ in free}


def _claim(ctx: Compilation, a: int, b: int, origins: dict[Origin, None]) -> str:
    """What the file says about ``a -> b``, in its words: written order first, then a statement."""
    early, late = ctx.nodes[a].hook, ctx.nodes[b].hook
    kinds = [o.kind for o in origins]
    if "written" in kinds:
        return f"`{early}` is written before `{late}`"
    kind = next((k for k in kinds if k in STATEMENTS), None)
    if kind is not None:
        return f"{'an' if kind == 'order' else 'a'} `{kind}` statement puts `{early}` before `{late}`"
    return f"`{early}` runs before `{late}` ({next(iter(origins)).describe(with_location=False)})"


def _changed_at(ctx: Compilation, a: int, origins: dict[Origin, None]) -> Span:
    """Where the step ``a -> ...`` is written: the earlier attachment, or else its statement."""
    if any(o.kind == "written" for o in origins):
        return ctx.nodes[a].span
    return next((o.span for o in origins if o.span is not None), ctx.nodes[a].span)


def _effects_alone(sub: OrderGraph, v: int, u: int) -> bool:
    """Whether the effect rules by themselves put ``v`` before ``u``: then no order of the file satisfies them.

    Effect relations are the edges with an effect origin, hubs included (a hub relates
    exactly the attachments its direct edges would).
    """
    effects = nx.subgraph_view(sub, filter_edge=lambda a, b: any(o.kind == "effect" for o in sub.edges[a, b][ORIGINS]))
    return bool(nx.has_path(effects, v, u))


def _help(early: str, late: str, back: list[tuple[int, int, dict[Origin, None]]], movable: bool) -> str:
    """What removes an HP005: run ``early`` before ``late``, by moving it or by changing a statement.

    Not ``movable``: the declared effects alone order the pair both ways, and only
    changing a declaration helps.
    """
    if not movable:
        return (f"`{early}` must run before `{late}`, but the effects the hooks declare order them the other way "
                "round too (see the steps above): change what one of them declares")
    kinds = {o.kind for _, _, origins in back for o in origins if o.kind != "effect"}
    if kinds <= {"written"}:
        return f"move `{early}` before `{late}` (e.g. `{early} -> {late}`)"
    return (f"run `{early}` before `{late}`: reverse or remove the `order`/`require` statement listed above "
            f"that puts `{late}` first (and move `{early}` before `{late}` where they are written in order)")


def _first_leg(graph: OrderGraph, u: int, v: int, component: set[int]) -> list[int]:
    """``u`` to ``v`` by their edge, or else through hubs only (so the step is the relation itself)."""
    if graph.has_edge(u, v):
        return [u, v]
    parent: dict[int, int] = {}
    frontier = [u]
    while frontier:
        nxt = []
        for node in frontier:
            for w in graph.succ[node]:
                if w == v:
                    path = [v, node]
                    while path[-1] != u:
                        path.append(parent[path[-1]])
                    return path[::-1]
                if is_hub(w) and w in component and w not in parent:
                    parent[w] = node
                    nxt.append(w)
        frontier = nxt
    raise ValueError(f"{v} does not follow {u}")  # pragma: no cover - v came from hook_successors(u)


def _steps(graph: OrderGraph, path: list[int]) -> list[tuple[int, int, dict[Origin, None]]]:
    """A node path cut at attachments: (from, to, origins), a step through hubs carrying the hubs' origin."""
    steps: list[tuple[int, int, dict[Origin, None]]] = []
    start, via = path[0], []
    for node in path[1:]:
        if is_hub(node):
            via.append(node)
            continue
        if via:
            origins = {hub_origin(graph, h): None for h in via}
            direct = edge_origins(graph, start, node)
            if direct is not None:
                origins = {**direct, **origins}
        else:
            origins = dict(edge_origins(graph, start, node) or {})
        steps.append((start, node, origins))
        start, via = node, []
    return steps


def _verb(role: str) -> str:
    return {"write": "writes", "read": "reads", "consume": "consumes"}.get(role, role)


def _edge_notes(ctx: Compilation, steps: list[tuple[int, int, dict[Origin, None]]]) -> list[Note]:
    notes = []
    for a, b, origins in steps:
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
