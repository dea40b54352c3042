"""The ordering graphs' promises, on random pipelines: the Plan's order and the cycle reports.

Each phase's order is a topological order of its graph that, whenever several
attachments could run next, takes the first declared; a graph with a cycle gives
HP004/HP005 instead, and the report walks the cycle edge by edge, each with every
origin that relates its two hooks. The reference below is a plain greedy walk over
the relations the graph states (hubs looked through), independent of networkx.
"""

from __future__ import annotations

import re

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.graph import hook_edges
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes

HEAD = 'use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\n'
ROLES = ("writes", "reads", "consumes")


@st.composite
def pipelines(draw: st.DrawFn) -> str:
    """Hooks with random effects on two resources, attached in random blocks of step.after, some order statements."""
    hooks = draw(st.integers(2, 9))
    lines = [HEAD]
    for i in range(hooks):
        effects = [f"{role} {r}" for r in ("x", "y") for role in ROLES if draw(st.booleans()) and draw(st.booleans())]
        body = " {\n    " + "\n    ".join(effects) + "\n}" if effects else ""
        lines.append(f"hook h{i} = probes.H(){body}\n")
    names = [f"h{i}" for i in range(hooks)]
    attached = draw(st.lists(st.sampled_from(names), min_size=2, max_size=hooks, unique=True))
    blocks = draw(st.lists(st.integers(0, 2), min_size=len(attached), max_size=len(attached)))
    lines.append("loop { epoch { step {\n")
    for block in sorted(set(blocks)):
        lines.append("after { " + " -> ".join(h for h, b in zip(attached, blocks) if b == block) + " }\n")
    lines.append("} } }\n")
    for first, second in draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=2)):
        if first != second:
            lines.append(f"order {first} before {second}\n")
    return "".join(lines)


def compiled(text: str) -> Compilation:
    return run_passes(load_text(text, "g.pipe"), "g.pipe")


def first_declared_ready(ctx: Compilation) -> list[str]:
    """The order by hand: repeatedly the smallest attachment id whose predecessors have all run."""
    graph = ctx.graphs[("step", "after")]
    left = {n for n in graph if n >= 0}
    before: dict[int, set[int]] = {n: set() for n in left}
    for u, v, _ in hook_edges(graph):
        before[v].add(u)
    done: list[int] = []
    while left:
        ready = min(n for n in left if before[n] <= set(done))
        done.append(ready)
        left.remove(ready)
    return [ctx.nodes[n].hook for n in done]


@settings(max_examples=300, deadline=None)
@given(pipelines())
def test_the_order_takes_the_first_declared_ready_hook_and_cycles_are_reported(text: str) -> None:
    ctx = compiled(text)
    graph = ctx.graphs[("step", "after")]
    errors = [d for d in ctx.diagnostics if d.severity == "error"]
    if ctx.plan is not None:
        assert nx.is_directed_acyclic_graph(graph)
        order = [e.hook for e in ctx.plan.phase("step", "after").entries]
        assert order == first_declared_ready(ctx), text
        position = {ctx.nodes[n].hook: i for i, n in enumerate(sorted(n for n in graph if n >= 0))}
        assert sorted(position) == sorted(order)
        for u, v, _ in hook_edges(graph):
            assert order.index(ctx.nodes[u].hook) < order.index(ctx.nodes[v].hook)
        return
    assert errors and {d.code for d in errors} <= {"HP004", "HP005"}, text
    assert not nx.is_directed_acyclic_graph(graph)
    relations = {(ctx.nodes[u].hook, ctx.nodes[v].hook): o for u, v, o in hook_edges(graph)}
    for d in errors:
        steps = [re.match(r"`(\w+)` -> `(\w+)`: (.*)", n.message) for n in d.notes]
        walk = [m.groups() for m in steps if m is not None]
        assert walk, d.notes
        # The notes walk the cycle: each step starts where the last ended, and it closes.
        pairs = list(dict.fromkeys((a, b) for a, b, _ in walk))
        assert all(pairs[i][1] == pairs[i + 1][0] for i in range(len(pairs) - 1)), walk
        assert pairs[-1][1] == pairs[0][0], walk
        for a, b, why in walk:  # every origin named is one the graph holds for that pair
            assert why in {o.describe(with_location=False) for o in relations[(a, b)]}, (a, b, why)


def test_ties_break_by_first_declaration_not_by_name_or_block() -> None:
    text = HEAD + "".join(f"hook {n} = probes.H()\n" for n in ("zeta", "alpha", "mid"))
    text += "loop { epoch { step {\nafter { mid }\nafter { zeta -> alpha }\n} } }\n"
    ctx = compiled(text)
    assert ctx.plan is not None
    assert [e.hook for e in ctx.plan.phase("step", "after").entries] == ["mid", "zeta", "alpha"]
    ctx = compiled(text + "order alpha before mid\n")
    assert ctx.plan is not None
    # `alpha` waits for `zeta` (written order) and `mid` for `alpha`: the first ready is `zeta`.
    assert [e.hook for e in ctx.plan.phase("step", "after").entries] == ["zeta", "alpha", "mid"]


def test_a_cycle_names_every_edge_with_each_of_its_origins() -> None:
    text = HEAD + "hook a = probes.H() {\n    reads x\n}\nhook b = probes.H()\nhook c = probes.H() {\n    writes x\n}\n"
    text += "loop { epoch { step {\nafter { a -> b }\nafter { c }\n} } }\norder b before c\nrequire b before c\n"
    ctx = compiled(text)
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    assert d.code == "HP005"
    assert d.message == "effect order violated in step.after: `c` writes `x`, so it must run before `a`, which reads it"
    assert [n.message for n in d.notes] == [
        "`a` reads `x` here",
        "`c` -> `a`: effect rule: x (write < read)",
        "`a` -> `b`: written order",
        "`b` -> `c`: `order` statement",
        "`b` -> `c`: `require` statement",
    ]
    assert d.help == ("run `c` before `a`: reverse or remove the `order`/`require` statement listed above that "
                      "puts `a` first (and move `c` before `a` where they are written in order)")
    lines = text.splitlines()
    where = [lines.index(line) + 1 for line in ("after { a -> b }", "order b before c", "require b before c")]
    assert [n.span.line if n.span else None for n in d.notes[2:]] == where


def test_a_long_cycle_is_reported_whole() -> None:
    """Thousands of attachments in one cycle: the walk is iterative, the report names each step."""
    n = 3000
    text = HEAD + "".join(f"hook h{i} = probes.H()\n" for i in range(n))
    text += "loop { epoch { step { after { " + " -> ".join(f"h{i}" for i in range(n)) + " } } } }\n"
    text += f"order h{n - 1} before h0\n"
    ctx = compiled(text)
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    assert d.code == "HP004"
    assert d.message == "ordering cycle in step.after: " + " -> ".join(f"h{i}" for i in (*range(n), 0))
    assert len(d.notes) == n
