"""Brackets in a phase's order: each ``with NAME { ... }`` runs as one unbroken block.

The ordering graph holds a bracket's node (its enter) and the attachments inside
it as ordinary nodes. The runtime runs the bracket's contents between its enter
and exit, so the lowered order must keep them together: the graph contracted to
one node per bracket (its contents included) must be acyclic. It is ordered as
the whole graph is (ties by declaration), then each bracket's contents the same
way, recursively. An attachment outside that must run between two inside is
HP004, with the attachment that breaks the bracket named.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from hookpipe.compiler.context import Compilation, Node, OrderGraph, PhaseKey
from hookpipe.compiler.graph import hook_edges

__all__ = ["bracket_order", "has_brackets"]


def has_brackets(nodes: list[Node], ids: list[int]) -> bool:
    return any(nodes[i].opens for i in ids)


def bracket_order(ctx: Compilation, key: PhaseKey, graph: OrderGraph) -> list[int] | None:
    """The phase's order with every bracket's contents right after its node; None after reporting HP004."""
    nodes = ctx.nodes
    ids = sorted(n for n in graph if n >= 0)
    edges = [(u, v) for u, v, _ in hook_edges(graph)]
    members: dict[int | None, list[int]] = defaultdict(list)
    for i in ids:
        members[nodes[i].bracket].append(i)
    out: list[int] = []
    if not _arrange(ctx, key, None, ids, edges, members, out):
        return None
    return out


def _rep(nodes: list[Node], node: int, parent: int | None) -> int:
    """The node, or the bracket holding it, that sits directly in ``parent`` (None: the phase itself)."""
    while nodes[node].bracket != parent:
        holder = nodes[node].bracket
        assert holder is not None
        node = holder
    return node


def _arrange(ctx: Compilation, key: PhaseKey, parent: int | None, inside: list[int], edges: list[tuple[int, int]],
             members: dict[int | None, list[int]], out: list[int]) -> bool:
    nodes = ctx.nodes
    scope = set(inside)
    contracted = nx.DiGraph()
    contracted.add_nodes_from(members[parent])
    for u, v in edges:
        if u in scope and v in scope:
            ru, rv = _rep(nodes, u, parent), _rep(nodes, v, parent)
            if ru != rv:
                contracted.add_edge(ru, rv)
    try:
        order = list(nx.lexicographical_topological_sort(contracted))
    except nx.NetworkXUnfeasible:
        _report(ctx, contracted)
        return False
    for r in order:
        out.append(r)
        if nodes[r].opens:
            within = [i for i in inside if i != r and _inside(nodes, i, r)]
            if not _arrange(ctx, key, r, within, edges, members, out):
                return False
    return True


def _inside(nodes: list[Node], node: int, bracket: int) -> bool:
    holder = nodes[node].bracket
    while holder is not None:
        if holder == bracket:
            return True
        holder = nodes[holder].bracket
    return False


def _report(ctx: Compilation, contracted: nx.DiGraph) -> None:
    cycle = [u for u, _ in nx.find_cycle(contracted)]
    bracket = next(ctx.nodes[u] for u in cycle if ctx.nodes[u].opens)
    others = [ctx.nodes[u] for u in cycle if u != bracket.id]
    names = ", ".join(f"`{n.hook}`" for n in others)
    ctx.error("HP004", f"`with {bracket.hook}` cannot run as one block: {names} must run between attachments "
              "inside it and outside it", bracket.span,
              help="move the attachment into the bracket, or out of the way of its contents "
                   "(`hookpipe render` draws the edges)")
