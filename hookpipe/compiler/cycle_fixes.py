"""The edits an ordering-cycle report may promise, each tried on a copy of the phase graph first.

Why try them: when a file's own order contradicts itself (a line moved above a chain
while an ``order`` statement keeps the old order, say), the cycle has several steps a
user wrote, and the obvious edit is often no fix: moving ``save`` just below ``clip``
still leaves it above ``evaluate``, which the effects order first. A help line that
names only edits the compiler has seen remove the cycle can be followed in one round.

Two kinds of edit, the ones a user makes to a ``.pipe`` file: move one attachment
within its block (to right after the last attachment there that must run before it,
or right before the first that must run after it), or remove one ``order``/``require``
statement. An edit is *whole* when no cycle through the reported component is left;
when a tangle of several mistakes leaves none whole, an edit still counts when what
it changes is on no cycle any more (the moved attachment; each pair the statement
ordered), so the user fixes one mistake per compile, as with any other diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import networkx as nx

from hookpipe.compiler.context import ORIGINS, Compilation, OrderGraph, Origin, edge_origins
from hookpipe.diagnostics import Remedy
from hookpipe.dsl.span import Span

Step = tuple[int, int, dict[Origin, None]]

#: How many steps of one cycle are tried for each kind of edit (moves, statement
#: removals): each try copies the phase graph and looks for cycles in it. Counted per
#: kind, so that a long written chain closed by one statement still has that
#: statement tried.
TRY_LIMIT = 8

STATEMENTS = ("order", "require")


@dataclass(frozen=True, slots=True)
class Edit:
    """One edit that was tried and helps: the help's words and what it changes (the primary span)."""

    text: str
    span: Span
    #: No cycle through the component is left (else only what the edit changed is off every cycle).
    whole: bool
    #: The same edit in spans, for an editor's quick fix.
    remedy: Remedy


def working_edits(ctx: Compilation, graph: OrderGraph, component: set[int], steps: list[Step]) -> list[list[Edit]]:
    """Per step, the edits of it that remove the cycle (past :data:`TRY_LIMIT` tries of a kind, none).

    A written step ``a -> b`` is undone by moving ``a`` down or ``b`` up; a statement's
    step by removing the statement (all of its edges: it may relate several attachments).
    """
    found: list[list[Edit]] = []
    moves = removals = 0
    for a, b, origins in steps:
        edits: list[Edit] = []
        if any(o.kind == "written" for o in origins) and moves < TRY_LIMIT:
            moves += 1
            for edit in (_move(ctx, graph, component, a, down=True), _move(ctx, graph, component, b, down=False)):
                if edit is not None:
                    edits.append(edit)
        for origin in origins:
            if origin.kind in STATEMENTS and origin.span is not None and removals < TRY_LIMIT:
                removals += 1
                trial = graph.copy()
                ordered = [(u, v) for u, v, o in trial.edges(data=ORIGINS) if origin in o]
                for u, v in ordered:
                    _drop(trial, u, v, origin.__ne__)
                whole = _whole(trial, component, ordered)
                if whole is not None:
                    statement = _statement(ctx, origin.span)
                    edits.append(Edit(f"remove `{statement}` ({origin.span.file}:{origin.span.line})", origin.span,
                                      whole, Remedy(f"Remove `{statement}`", "remove", origin.span)))
        found.append(edits)
    return found


def _move(ctx: Compilation, graph: OrderGraph, component: set[int], x: int, down: bool) -> Edit | None:
    """Move ``x`` within its block past what must run before it (``down``) or up to what must follow it.

    Taken out of its block first (its neighbours then follow each other), so that
    what must run before or after it is what the other relations say.
    """
    node = ctx.nodes[x]
    block = [n for n in sorted(m for m in graph if m >= 0) if ctx.nodes[n].block == node.block]
    rest = [n for n in block if n != x]
    trial = graph.copy()
    _rewrite(trial, block, rest)
    if down:
        before = nx.ancestors(trial, x)
        at = max((i + 1 for i, n in enumerate(rest) if n in before), default=None)
    else:
        after = nx.descendants(trial, x)
        at = min((i for i, n in enumerate(rest) if n in after), default=None)
    if at is None:
        return None
    order = [*rest[:at], x, *rest[at:]]
    if order == block:
        return None
    _rewrite(trial, rest, order)
    whole = _whole(trial, component, [(x, x)])
    if whole is None:
        return None
    anchor = ctx.nodes[rest[at - 1] if down else rest[at]]
    where = "after" if down else "before"
    return Edit(f"move `{node.hook}` {where} `{anchor.hook}`", node.span, whole,
                Remedy(f"Move `{node.hook}` {where} `{anchor.hook}`", "move_after" if down else "move_before",
                       node.span, anchor.span))


def _rewrite(trial: OrderGraph, old: list[int], new: list[int]) -> None:
    """Replace the written order ``old`` of one block by ``new`` (the graph's other relations stay)."""
    for u, v in zip(old, old[1:]):
        _drop(trial, u, v, lambda o: o.kind != "written")
    for u, v in zip(new, new[1:]):
        origins = edge_origins(trial, u, v)
        written = Origin("written")
        if origins is None:
            trial.add_edge(u, v, **{ORIGINS: {written: None}})
        else:
            trial.edges[u, v][ORIGINS] = {**origins, written: None}


def _drop(trial: OrderGraph, u: int, v: int, keep: Callable[[Origin], bool]) -> None:
    """Keep only the origins of ``u -> v`` that ``keep`` accepts; no origin left, no edge.

    A new dict, never an update: a copied graph shares its origin dicts with the original.
    """
    origins = edge_origins(trial, u, v)
    if origins is None:
        return
    kept = {o: None for o in origins if keep(o)}
    if kept:
        trial.edges[u, v][ORIGINS] = kept
    else:
        trial.remove_edge(u, v)


def _whole(trial: OrderGraph, component: set[int], changed: list[tuple[int, int]]) -> bool | None:
    """True: no cycle runs through the component any more (other cycles are other reports).

    False: one does, but no cycle holds both ends of a ``changed`` pair (``(x, x)``: ``x``
    is on no cycle). None: the edit does not even do that.
    """
    left = [c for c in nx.strongly_connected_components(trial) if len(c) > 1 and not c.isdisjoint(component)]
    if not left:
        return True
    if any(u in c and v in c for c in left for u, v in changed):
        return None
    return False


def _statement(ctx: Compilation, span: Span) -> str:
    """The statement at ``span`` as it reads (``order evaluate before save``)."""
    stmt = next(s for s in ctx.orders if s.span == span)
    return f"{'require' if stmt.hard else 'order'} {stmt.first} {stmt.relation} {stmt.second}"
