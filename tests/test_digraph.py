"""``hookpipe.compiler.digraph`` against networkx, the oracle, on random graphs.

The cycle reports are worded from ``shortest_path``, so it must pick the very
path networkx picks among equally short ones; the orders must match exactly too.
"""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookpipe.compiler.digraph import (
    DiGraph,
    cycles,
    lexicographical_topological_order,
    shortest_path,
    strongly_connected_components,
    topological_order,
)
from hookpipe.compiler.lower import declaration_order

Pair = tuple[DiGraph[int, str, int], "nx.DiGraph[int]"]


@st.composite
def graphs(draw: st.DrawFn, acyclic: bool = False, negative: bool = False) -> Pair:
    """The same random graph both ways, nodes and edges added in the same (random) order."""
    n = draw(st.integers(1, 24))
    low = -n // 2 if negative else 0
    labels = draw(st.permutations(range(low, low + n)))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4 * n))
    ours: DiGraph[int, str, int] = DiGraph()
    theirs: nx.DiGraph[int] = nx.DiGraph()
    isolated_first = draw(st.integers(0, n))
    for node in labels[:isolated_first]:
        ours.add_node(node)
        theirs.add_node(node)
    for number, (i, j) in enumerate(edges):
        if i == j or (acyclic and i > j):  # acyclic: edges only go up the drawn permutation
            continue
        u, v = labels[i], labels[j]
        ours.add_edge(u, v, number)
        theirs.add_edge(u, v, data=number)
    for node in labels:
        ours.add_node(node)
        theirs.add_node(node)
    return ours, theirs


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_structure_matches(pair: Pair) -> None:
    ours, theirs = pair
    assert list(ours) == list(theirs.nodes) and len(ours) == theirs.number_of_nodes()
    assert ours.number_of_edges() == theirs.number_of_edges()
    for node in theirs:
        assert list(ours.succ[node]) == list(theirs.succ[node])
        assert list(ours.pred[node]) == list(theirs.pred[node])
        for v, data in theirs.succ[node].items():
            assert ours.edge(node, v) == data["data"] and ours.has_edge(node, v)


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_strongly_connected_components_match(pair: Pair) -> None:
    ours, theirs = pair
    found = strongly_connected_components(ours)
    assert sorted(map(sorted, found)) == sorted(map(sorted, nx.strongly_connected_components(theirs)))
    assert sum(map(len, found)) == len(ours)
    cyclic = [sorted(c) for c in nx.strongly_connected_components(theirs) if len(c) > 1]
    assert sorted(map(sorted, cycles(ours))) == sorted(cyclic)


@settings(max_examples=400, deadline=None)
@given(graphs(), st.data())
def test_shortest_path_is_the_path_networkx_picks(pair: Pair, data: st.DataObject) -> None:
    """Within a random node set, like the cycle report's search inside one component."""
    ours, theirs = pair
    nodes = list(theirs)
    source, target = data.draw(st.sampled_from(nodes)), data.draw(st.sampled_from(nodes))
    within = set(data.draw(st.lists(st.sampled_from(nodes), max_size=len(nodes)))) | {source, target}
    sub = theirs.subgraph(within)
    try:
        expected = nx.shortest_path(sub, source, target)
    except nx.NetworkXNoPath:
        with pytest.raises(ValueError):
            shortest_path(ours, source, target, within=within)
        return
    assert shortest_path(ours, source, target, within=within) == expected
    assert shortest_path(ours, source, target, within=set(nodes)) == nx.shortest_path(theirs, source, target)


@settings(max_examples=400, deadline=None)
@given(graphs(acyclic=True, negative=True))
def test_orders_match(pair: Pair) -> None:
    ours, theirs = pair
    assert topological_order(ours) == list(nx.topological_sort(theirs))
    expected = list(nx.lexicographical_topological_sort(theirs))
    assert lexicographical_topological_order(ours) == expected
    # The lowering's order: hubs (negative ids) passed as soon as ready, then left out.
    assert declaration_order(ours) == [n for n in expected if n >= 0]  # type: ignore[arg-type]


def test_cycles_are_refused() -> None:
    graph: DiGraph[int, None, None] = DiGraph()
    graph.add_edge(0, 1, None)
    graph.add_edge(1, 2, None)
    graph.add_edge(2, 0, None)
    with pytest.raises(ValueError, match="cycle"):
        topological_order(graph)
    with pytest.raises(ValueError, match="cycle"):
        lexicographical_topological_order(graph)
    assert strongly_connected_components(graph) == [{0, 1, 2}]


def test_a_long_chain_does_not_recurse() -> None:
    """Iterative Tarjan: a recursive one would exceed Python's stack at this depth."""
    graph: DiGraph[int, None, None] = DiGraph()
    n = 20_000
    for i in range(n):
        graph.add_edge(i, (i + 1) % n, None)
    assert strongly_connected_components(graph) == [set(range(n))]
    assert shortest_path(graph, 0, n - 1) == list(range(n))


def test_node_data() -> None:
    graph: DiGraph[int, str, None] = DiGraph()
    graph.add_node(-1, "hub")
    graph.add_node(-1)  # adding again keeps the attribute
    assert graph.node_data(-1) == "hub" and -1 in graph and 5 not in graph
    assert graph.edge(-1, 5) is None and graph.edge(7, 5) is None
