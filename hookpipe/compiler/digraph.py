"""A small directed graph and the five algorithms the compiler needs of one.

The ordering graphs (``hookpipe.compiler.graph``) used to be networkx graphs.
networkx is a fine library but a heavy import (its package imports every
algorithm it has and looks up backends through ``importlib.metadata``: about
0.2 s, most of what ``hookpipe lint`` on one file cost), and the compiler used
five of its functions. This module is those five over a dict of dicts, typed.

Iteration follows insertion order everywhere (nodes, successors,
predecessors), so results are deterministic. ``shortest_path`` takes the same
walk as networkx's unweighted ``shortest_path`` (a bidirectional breadth-first
search) and so returns the same path among equally short ones: the cycle
reports are worded from it. ``tests/test_digraph.py`` checks every function
against networkx on random graphs.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Generic, Hashable, Iterable, Iterator, Mapping, Protocol, TypeVar


class _Ordered(Hashable, Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


N = TypeVar("N", bound=Hashable)
O = TypeVar("O", bound=_Ordered)  # noqa: E741 - nodes that sort
A = TypeVar("A")  # a node's attribute
E = TypeVar("E")  # an edge's attribute


class DiGraph(Generic[N, A, E]):
    """Nodes with an optional attribute each, edges ``u -> v`` with one attribute each.

    ``succ[u]`` maps each successor ``v`` to the edge's attribute, ``pred[v]``
    each predecessor ``u`` to the same object; both are read-only by convention
    (add through ``add_node`` / ``add_edge``). No self-loops or parallel edges:
    adding an existing edge replaces its attribute.
    """

    __slots__ = ("succ", "pred", "_data")

    def __init__(self) -> None:
        self.succ: dict[N, dict[N, E]] = {}
        self.pred: dict[N, dict[N, E]] = {}
        self._data: dict[N, A] = {}

    def add_node(self, node: N, data: A | None = None) -> None:
        if node not in self.succ:
            self.succ[node] = {}
            self.pred[node] = {}
        if data is not None:
            self._data[node] = data

    def add_nodes(self, nodes: Iterable[N]) -> None:
        succ, pred = self.succ, self.pred
        for node in nodes:
            if node not in succ:
                succ[node] = {}
                pred[node] = {}

    def add_edge(self, u: N, v: N, data: E) -> None:
        """Add ``u -> v`` (and either node if new) carrying ``data``."""
        if u not in self.succ:
            self.add_node(u)
        if v not in self.succ:
            self.add_node(v)
        self.succ[u][v] = data
        self.pred[v][u] = data

    def node_data(self, node: N) -> A:
        """The attribute ``node`` was added with; KeyError when it has none."""
        return self._data[node]

    def edge(self, u: N, v: N) -> E | None:
        """The attribute of ``u -> v``, None when there is no such edge."""
        out = self.succ.get(u)
        return None if out is None else out.get(v)

    def has_edge(self, u: N, v: N) -> bool:
        out = self.succ.get(u)
        return out is not None and v in out

    def number_of_edges(self) -> int:
        return sum(len(out) for out in self.succ.values())

    def __iter__(self) -> Iterator[N]:
        return iter(self.succ)

    def __len__(self) -> int:
        return len(self.succ)

    def __contains__(self, node: object) -> bool:
        return node in self.succ


def strongly_connected_components(graph: DiGraph[N, A, E], within: Iterable[N] | None = None) -> list[set[N]]:
    """Every strongly connected component (single nodes included), by an iterative Tarjan.

    Components come out in reverse topological order of the condensation; a
    recursive version would overflow Python's stack on a chain of 1,000 nodes.
    With ``within``, the components of the subgraph of those nodes.
    """
    succ: Mapping[N, Iterable[N]] = graph.succ
    if within is not None:
        keep = set(within)
        succ = {n: [m for m in graph.succ[n] if m in keep] for n in graph.succ if n in keep}
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    on_stack: set[N] = set()
    stack: list[N] = []
    found: list[set[N]] = []
    counter = 0
    for root in succ:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work: list[tuple[N, Iterator[N]]] = [(root, iter(succ[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                    break
                if child in on_stack and index[child] < low[node]:
                    low[node] = index[child]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == index[node]:
                    component: set[N] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
    return found


def cycles(graph: DiGraph[N, A, E]) -> list[set[N]]:
    """The strongly connected components of more than one node: each holds a cycle.

    Kahn's algorithm first peels off every node no cycle can hold (the common
    case is all of them, and it is the cheaper walk); Tarjan runs on what is left.
    """
    indegree = {node: len(p) for node, p in graph.pred.items()}
    ready = [node for node, degree in indegree.items() if degree == 0]
    succ = graph.succ
    while ready:
        for nxt in succ[ready.pop()]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    left = [node for node, degree in indegree.items() if degree > 0]
    if not left:
        return []
    return [c for c in strongly_connected_components(graph, within=left) if len(c) > 1]


def shortest_path(graph: DiGraph[N, A, E], source: N, target: N, within: set[N] | None = None) -> list[N]:
    """A shortest path ``source`` ... ``target`` (edge count), through nodes of ``within`` only when given.

    Breadth-first from both ends at once, always growing the smaller fringe,
    stopping at the first node both searches reached: networkx's walk, step for
    step, so the path is the one networkx picks among equally short ones.
    ValueError when there is none.
    """
    if source == target:
        return [source]
    before: dict[N, N | None] = {source: None}  # towards the source
    after: dict[N, N | None] = {target: None}  # towards the target
    forward, backward = [source], [target]
    meet: N | None = None
    found = False
    while forward and backward and not found:
        if len(forward) <= len(backward):
            level, forward = forward, []
            for node in level:
                for w in graph.succ[node]:
                    if within is not None and w not in within:
                        continue
                    if w not in before:
                        forward.append(w)
                        before[w] = node
                    if w in after:
                        meet, found = w, True
                        break
                if found:
                    break
        else:
            level, backward = backward, []
            for node in level:
                for w in graph.pred[node]:
                    if within is not None and w not in within:
                        continue
                    if w not in after:
                        after[w] = node
                        backward.append(w)
                    if w in before:
                        meet, found = w, True
                        break
                if found:
                    break
    if not found:
        raise ValueError(f"no path from {source!r} to {target!r}")
    path: list[N] = []
    step: N | None = meet
    while step is not None:
        path.append(step)
        step = before[step]
    path.reverse()
    step = after[path[-1]]
    while step is not None:
        path.append(step)
        step = after[step]
    return path


def topological_order(graph: DiGraph[N, A, E]) -> list[N]:
    """A topological order: Kahn's algorithm, ready nodes first-in first-out.

    Nodes with no predecessor in insertion order, then each generation as it
    becomes ready (networkx's ``topological_sort`` gives the same order).
    ValueError on a cycle.
    """
    indegree = {node: len(p) for node, p in graph.pred.items()}
    ready = deque(node for node, degree in indegree.items() if degree == 0)
    order: list[N] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for nxt in graph.succ[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(indegree):
        raise ValueError("the graph has a cycle")
    return order


def lexicographical_topological_order(graph: DiGraph[O, A, E]) -> list[O]:
    """The topological order that takes the smallest ready node each time (a heap).

    Insertion order does not matter; the nodes' own order breaks every tie.
    ValueError on a cycle.
    """
    indegree = {node: len(p) for node, p in graph.pred.items()}
    ready = [node for node, degree in indegree.items() if degree == 0]
    heapq.heapify(ready)
    successors = graph.succ
    order: list[O] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) != len(indegree):
        raise ValueError("the graph has a cycle")
    return order
