"""HP105: two hooks in one phase write the same resource with no order between them.

The effect rule orders writers before readers, but not writers among
themselves; when no path in the phase graph relates two writers, which one
wins is decided only by declaration order, an accident the file should state.
Both hooks being the same is HP107's business.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

import networkx as nx

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP105"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    for (scope, phase), graph in ctx.graphs.items():
        writers: dict[str, list[int]] = defaultdict(list)
        for node_id in sorted(graph.nodes):
            for resource in ctx.node_effects(ctx.nodes[node_id]).writes:
                writers[resource].append(node_id)
        shared: dict[tuple[int, int], list[str]] = defaultdict(list)
        for resource in sorted(writers):
            ids = writers[resource]
            for i, u in enumerate(ids):
                for v in ids[i + 1:]:
                    if ctx.nodes[u].hook != ctx.nodes[v].hook:
                        shared[u, v].append(resource)
        for (u, v), resources in sorted(shared.items()):
            if nx.has_path(graph, u, v) or nx.has_path(graph, v, u):
                continue
            a, b = ctx.nodes[u], ctx.nodes[v]
            what = ", ".join(f"`{r}`" for r in resources)
            yield warning(
                CODE,
                f"`{a.hook}` and `{b.hook}` both write {what} in {scope}.{phase} with no order between them",
                b.span,
                (Note(f"`{a.hook}` writes {what} here", a.span),),
                help=f"state the order: `{a.hook} -> {b.hook}` in one block, or `order {a.hook} before {b.hook}`",
            )
