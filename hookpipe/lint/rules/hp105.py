"""HP105: two hooks in one phase write the same resource with no order between them.

The effect rule orders writers before readers, but not writers among
themselves; when no path in the phase graph relates two writers, which one
wins is decided only by declaration order, an accident the file should state.
Both hooks being the same is HP107's business.

Reachability is computed once per phase as bitsets over the writers (one pass
in topological order each way), so 2,000 writers cost milliseconds, not one
graph search per pair; past ``MAX_PAIRS`` findings in a phase one more warning
counts the rest instead of printing millions.
"""

from __future__ import annotations

from typing import Iterator

import networkx as nx

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP105"
#: Findings printed per phase; the rest are counted in one warning.
MAX_PAIRS = 50


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    for (scope, phase), graph in ctx.graphs.items():
        writers = [n for n in sorted(graph) if n >= 0 and ctx.node_effects(ctx.nodes[n]).writes]
        if len(writers) < 2:
            continue
        bit = {n: 1 << i for i, n in enumerate(writers)}
        order = list(nx.topological_sort(graph))
        below: dict[int, int] = {}  # writers reachable from a node (itself included)
        for n in reversed(order):
            mask = bit.get(n, 0)
            for s in graph.succ[n]:
                mask |= below[s]
            below[n] = mask
        above: dict[int, int] = {}  # writers that reach a node
        for n in order:
            mask = bit.get(n, 0)
            for p in graph.pred[n]:
                mask |= above[p]
            above[n] = mask
        of_resource: dict[str, int] = {}
        of_hook: dict[str, int] = {}
        for n in writers:
            of_hook[ctx.nodes[n].hook] = of_hook.get(ctx.nodes[n].hook, 0) | bit[n]
            for resource in ctx.node_effects(ctx.nodes[n]).writes:
                of_resource[resource] = of_resource.get(resource, 0) | bit[n]
        shown, more = 0, 0
        for i, u in enumerate(writers):
            a = ctx.nodes[u]
            resources = sorted(ctx.node_effects(a).writes)
            shares = 0
            for resource in resources:
                shares |= of_resource[resource]
            later = ~((1 << (i + 1)) - 1)
            free = shares & later & ~below[u] & ~above[u] & ~of_hook[a.hook]
            while free:
                if shown >= MAX_PAIRS:
                    more += free.bit_count()
                    break
                low = free & -free
                free ^= low
                v = writers[low.bit_length() - 1]
                b = ctx.nodes[v]
                what = ", ".join(f"`{r}`" for r in resources if of_resource[r] & low)
                shown += 1
                yield warning(
                    CODE,
                    f"`{a.hook}` and `{b.hook}` both write {what} in {scope}.{phase} with no order between them",
                    b.span,
                    (Note(f"`{a.hook}` writes {what} here", a.span),),
                    help=f"state the order: `{a.hook} -> {b.hook}` in one block, or `order {a.hook} before {b.hook}`",
                )
        if more:
            first = ctx.nodes[writers[0]]
            yield warning(CODE, f"{more:,} more pairs of hooks write the same resource in {scope}.{phase} with no "
                          "order between them", first.span,
                          help="state the order among the writers of each resource")
