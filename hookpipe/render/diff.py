"""``hookpipe render FILE --diff REF``: the HEAD graph with what changed since BASE coloured.

The picture is HEAD's (``model.from_compilation``), compared with BASE by
``hookpipe.compiler.plan_diff`` so the words of ``hookpipe diff`` and the colours
agree: attachments it lists as added are green, moved ones orange, and removed
ones are drawn where they were, dashed red; one whose frequency changed is blue and
reads ``every 400 steps (was every 200 steps)`` (a reviewer must see a schedule
change as readily as a new hook); one whose hook's arguments (or type, or effects)
changed is purple and reads ``max_norm: 1.0 -> 0.5``, on every attachment of that
hook, whatever else changed. What a graph cannot show (trainer settings, a hook
that is not attached) is said in notes under the legend, which ``render`` prints
too (:func:`notes`), so a change ``hookpipe diff`` reports never leaves an all-grey
picture with nothing said. An attachment is a hook's k-th
attachment in a phase's lowered order on each side (as ``plan_diff`` counts), and
an ordering edge is the same on both sides when it joins the same two attachments
with the same kind of origin: HEAD's edges missing at BASE are green, BASE's edges
missing at HEAD are added dashed red, the rest grey.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Callable

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.lower import declaration_order
from hookpipe.compiler.plan_diff import FileDiff, HookChange, ValueChange, diff_compilations
from hookpipe.escaping import escape
from hookpipe.render.model import (
    GraphEdge,
    GraphModel,
    GraphNode,
    PhaseCluster,
    ScopeCluster,
    from_compilation,
    iter_nodes,
)

#: (scope, phase, hook, k-th attachment of the hook in that phase)
Place = tuple[str, str, str, int]
#: Declaration changes drawn per attachment (the rest are counted), names listed per note,
#: and characters of a value shown: a picture is not the place for a 2 KB argument.
MAX_LINES = 3
MAX_NAMES = 6
MAX_VALUE = 40


def diff_model(base: Compilation | None, head: Compilation) -> tuple[GraphModel, FileDiff]:
    """HEAD's picture with the comparison to ``base`` drawn in; also the comparison itself.

    A side that does not compile cannot be compared: HEAD is then drawn as
    ``render`` draws it (its errors in red), and the returned diff says why.
    """
    diff = diff_compilations(head.main, base, head)
    model = from_compilation(head)
    if diff.status == "error" or head.plan is None:
        return model, diff
    model.diff = True
    head_places = _places(head)
    base_places = _places(base) if base is not None else {}
    added = {(p.scope, p.phase, a.hook, a.occurrence) for p in diff.phases for a in p.added}
    moved = {(p.scope, p.phase, m.hook, m.occurrence) for p in diff.phases for m in p.moved}
    removed = {(p.scope, p.phase, a.hook, a.occurrence) for p in diff.phases for a in p.removed}

    retimed = {(p.scope, p.phase, f.hook, f.occurrence): f.base for p in diff.phases for f in p.frequency}
    declared = {h.name: _lines(h) for h in diff.hooks if h.status == "changed"}

    def change(node: GraphNode) -> GraphNode:
        place = head_places.get(node.id)
        kind = "added" if place in added else "moved" if place in moved else "retimed" if place in retimed \
            else "changed" if node.hook in declared else "unchanged"
        frequency = node.frequency
        if place in retimed:
            frequency = f"{frequency or 'every time'} (was {retimed[place]})"
        return dataclasses.replace(node, change=kind, frequency=frequency, declaration=declared.get(node.hook, ()))

    _mark(model.root, change)
    # BASE's removed attachments join HEAD's picture under ids after HEAD's own.
    offset = max((n.id for n in head.nodes), default=-1) + 1
    by_place = {place: node_id for node_id, place in head_places.items()}
    if base is not None:
        extra: dict[tuple[str, str], list[GraphNode]] = {}
        printer_nodes = {n.id: n for n in _all_nodes(from_compilation(base).root)}
        for node_id, place in sorted(base_places.items()):
            if place in removed and node_id in printer_nodes:
                drawn = dataclasses.replace(printer_nodes[node_id], id=offset + node_id, change="removed",
                                            error=False)
                extra.setdefault(place[:2], []).append(drawn)
                by_place.setdefault(place, offset + node_id)
        _add_nodes(model, extra)
    head_edges = {(head_places[e.source], head_places[e.target], e.kind) for e in model.edges
                  if e.source in head_places and e.target in head_places}
    base_edges: dict[tuple[Place, Place, str], GraphEdge] = {}
    if base is not None:
        for e in from_compilation(base).edges:
            if e.source in base_places and e.target in base_places:
                base_edges[(base_places[e.source], base_places[e.target], e.kind)] = e
    model.edges = [dataclasses.replace(e, change="unchanged" if (head_places.get(e.source), head_places.get(e.target),
                                                                 e.kind) in base_edges else "added")
                   for e in model.edges]
    for (source, target, kind), e in base_edges.items():
        if (source, target, kind) not in head_edges and source in by_place and target in by_place:
            model.edges.append(dataclasses.replace(e, source=by_place[source], target=by_place[target],
                                                   change="removed", bad=False))
    return model, diff


def notes(diff: FileDiff, model: GraphModel, sides: tuple[str, str] = ("BASE", "HEAD")) -> list[str]:
    """One line for each kind of change the picture does not show, escaped; ``sides`` names BASE and HEAD.

    A side that does not compile is named as ``hookpipe diff`` names it (``the
    working tree does not compile``), so the note says which one to fix.
    """
    if diff.status == "error":
        failing = [sides[0] if e.side == "base" else sides[1] for e in diff.errors]
        return [escape(f"not compared: {' and '.join(failing)} {'does' if len(failing) == 1 else 'do'} not compile")]
    if diff.status == "unchanged":
        return ["no change to the plan"]
    if diff.status == "added":
        return [escape(f"a new file: not in {sides[0]}, so everything is added")]
    out: list[str] = []
    if diff.name is not None:
        out.append(f"pipeline name changed: {_cut(diff.name.base)} -> {_cut(diff.name.head)}")
    if diff.trainer:
        out.append(f"trainer settings changed, not drawn: {_listed([_change(t) for t in diff.trainer])}")
    drawn = {n.hook for n in iter_nodes(model.root)}
    unattached = [f"`{h.name}` {h.status}" for h in diff.hooks if h.name not in drawn]
    if unattached:
        out.append(f"hooks not attached, so not drawn: {_listed(unattached)}")
    return [escape(line) for line in out]


def _lines(hook: HookChange) -> tuple[str, ...]:
    """A changed hook's declaration changes as label lines: ``max_norm: 1.0 -> 0.5``."""
    changes = [*([hook.type] if hook.type is not None else []), *hook.args, *hook.effects]
    lines = [_change(c) for c in changes[:MAX_LINES]]
    if len(changes) > MAX_LINES:
        lines.append(f"and {len(changes) - MAX_LINES} more changes")
    return tuple(escape(line) for line in lines)


def _change(value: ValueChange) -> str:
    return f"{_cut(value.key)}: {_cut(value.base)} -> {_cut(value.head)}"


def _cut(text: str | None) -> str:
    if text is None:
        return "(unset)"
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_NAMES])
    return shown if len(items) <= MAX_NAMES else f"{shown} and {len(items) - MAX_NAMES} more"


def _places(ctx: Compilation) -> dict[int, Place]:
    """Each attachment's node id -> its place, counted in lowered order as ``plan_diff`` counts."""
    out: dict[int, Place] = {}
    for (scope, phase), graph in ctx.graphs.items():
        seen: Counter[str] = Counter()
        for node_id in declaration_order(graph):
            hook = ctx.nodes[node_id].hook
            seen[hook] += 1
            out[node_id] = (scope, phase, hook, seen[hook])
    return out


def _all_nodes(cluster: ScopeCluster) -> list[GraphNode]:
    return [*cluster.before.nodes, *(n for c in cluster.children for n in _all_nodes(c)), *cluster.after.nodes]


def _mark(cluster: ScopeCluster, change: Callable[[GraphNode], GraphNode]) -> None:
    for phase in (cluster.before, cluster.after):
        phase.nodes = [change(n) for n in phase.nodes]
    for child in cluster.children:
        _mark(child, change)


def _add_nodes(model: GraphModel, extra: dict[tuple[str, str], list[GraphNode]]) -> None:
    """Put BASE's removed attachments into their phases, adding scope boxes HEAD no longer has."""
    from hookpipe.compiler.plan import PARENT, SCOPES

    def find(cluster: ScopeCluster, scope: str) -> ScopeCluster | None:
        if cluster.name == scope:
            return cluster
        for child in cluster.children:
            found = find(child, scope)
            if found is not None:
                return found
        return None

    for (scope, phase), nodes in extra.items():
        chain = [scope]
        while PARENT[chain[-1]] is not None:
            chain.append(PARENT[chain[-1]])  # type: ignore[arg-type]
        parent = model.root
        for name in reversed(chain[:-1]):
            found = find(parent, name)
            if found is None:
                found = ScopeCluster(name, PhaseCluster(name, "before"), [], PhaseCluster(name, "after"))
                parent.children.append(found)
                parent.children.sort(key=lambda c: SCOPES.index(c.name) if c.name in SCOPES else len(SCOPES))
            parent = found
        target = find(model.root, scope)
        assert target is not None
        box = target.before if phase == "before" else target.after
        box.nodes.extend(nodes)

