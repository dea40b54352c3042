"""HP105 finds exactly the unordered pairs of writers, with work that grows with the phase, not its square.

The rule used to hold two bitsets of every writer per node: 99,000 attachments
in one block (a 450 KB file, under the attachment limit) took 2.9 GB. The pairs
are checked here against a plain search of the graph; the work is checked as
the pass counts it (bits of bitsets built and held), not timed
(``python -m benchmarks.hostile_includes`` times it).
"""

from __future__ import annotations

import random
import re
import tracemalloc

import networkx as nx
import pytest

import hookpipe.compiler.graph as graph_module
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.lint.rules import hp105

HEAD = 'use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\n'


def random_pipeline(rng: random.Random) -> str:
    hooks = rng.randint(2, 12)
    lines = [HEAD]
    for i in range(hooks):
        effects = [f"{role} {r}" for r in ("x", "y", "z") for role, p in (("writes", 0.45), ("reads", 0.15))
                   if rng.random() < p]
        lines.append(f"hook h{i} = probes.H()" + (" {\n    " + "\n    ".join(effects) + "\n}" if effects else ""))
    lines.append("loop { epoch { step {")
    for _ in range(rng.randint(1, 6)):
        names = [f"h{rng.randrange(hooks)}" for _ in range(rng.randint(1, 5))]
        chains = []
        while names:
            cut = rng.randint(1, len(names))
            chains.append(" -> ".join(names[:cut]))
            names = names[cut:]
        lines.append("after {\n" + "\n".join(chains) + "\n}")
    lines.append("} } }")
    for _ in range(rng.randint(0, 3)):
        a, b = rng.sample(range(hooks), 2)
        lines.append(f"order h{a} before h{b}")
    return "\n".join(lines) + "\n"


def expected_pairs(ctx: Compilation) -> set[tuple[tuple[int, int], tuple[int, int]]]:
    """Writer pairs of one phase: a shared resource, two hooks, no path either way (searched, not computed)."""
    found = set()
    for graph in ctx.graphs.values():
        writers = [n for n in sorted(graph) if n >= 0 and ctx.node_effects(ctx.nodes[n]).writes]
        for i, u in enumerate(writers):
            for v in writers[i + 1:]:
                a, b = ctx.nodes[u], ctx.nodes[v]
                shared = set(ctx.node_effects(a).writes) & set(ctx.node_effects(b).writes)
                if shared and a.hook != b.hook and not nx.has_path(graph, u, v) and not nx.has_path(graph, v, u):
                    found.add(((a.span.line, a.span.column), (b.span.line, b.span.column)))
    return found


def pairs_found(ctx: Compilation) -> tuple[set[tuple[tuple[int, int], tuple[int, int]]], int]:
    """The pairs HP105 printed (by where the two attachments are) and the count it gave in all."""
    shown, total = set(), 0
    for d in hp105.check(ctx):
        more = re.match(r"([\d,]+) more pairs", d.message)
        if more:
            total += int(more.group(1).replace(",", ""))
        else:
            first = d.notes[0].span
            assert first is not None
            shown.add(((first.line, first.column), (d.span.line, d.span.column)))
            total += 1
    return shown, total


@pytest.mark.parametrize("hubs", [False, True])
def test_the_pairs_are_those_no_path_orders(monkeypatch: pytest.MonkeyPatch, hubs: bool) -> None:
    if hubs:  # effect edges through hub nodes, as large phases have them
        monkeypatch.setattr(graph_module, "DIRECT_PAIRS", 0)
    rng = random.Random(105)
    compared = with_pairs = 0
    for _ in range(600):
        ctx = run_passes(load_text(random_pipeline(rng), "r.pipe"), "r.pipe")
        if ctx.plan is None:
            continue
        expected = expected_pairs(ctx)
        monkeypatch.setattr(hp105, "MAX_PAIRS", 10**6)
        assert pairs_found(ctx) == (expected, len(expected))
        monkeypatch.setattr(hp105, "MAX_PAIRS", 2)
        shown, total = pairs_found(ctx)
        assert total == len(expected) and shown <= expected and len(shown) == min(2, len(expected))
        compared += 1
        with_pairs += bool(expected)
    assert compared > 120 and with_pairs > 40, (compared, with_pairs)


class Meter:
    """The most bitset work and held bits a phase's pass reached (read where the pass checks its budget)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.work = self.live = 0
        real = hp105._Pass.over

        def over(state: hp105._Pass) -> bool:
            self.work, self.live = max(self.work, state.groups.work), max(self.live, state.groups.live)
            return real(state)

        monkeypatch.setattr(hp105._Pass, "over", over)


def clips(n: int, blocks: bool) -> Compilation:
    """``n`` attachments of 20 clip hooks (all writing ``grads``): one block, or each in its own block."""
    text = [HEAD, "hook optimize = optimizer()\n", *(f"hook c{i} = grad_clip(max_norm = 1.0)\n" for i in range(20))]
    if blocks:
        text.append("loop { epoch { step {\n" + "".join(f"after {{ c{i % 20} }}\n" for i in range(n))
                    + "after { optimize }\n} } }\n")
    else:
        text.append("loop { epoch { step { after {\n" + "".join(f"    c{i % 20}\n" for i in range(n))
                    + "    optimize\n} } } }\n")
    ctx = run_passes(load_text("".join(text), "c.pipe"), "c.pipe")
    assert ctx.plan is not None, ctx.diagnostics[:2]
    return ctx


def test_one_long_block_of_writers_needs_no_bitsets(monkeypatch: pytest.MonkeyPatch) -> None:
    meter = Meter(monkeypatch)
    n = 10_000
    ctx = clips(n, blocks=False)
    tracemalloc.start()
    try:
        assert list(hp105.check(ctx)) == []  # written order orders them all
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert meter.work == 0 and meter.live == 0
    assert peak < 4 * 2**20  # the old pass held two bitsets of up to n bits per node: 13 MB here, 2.9 GB at 99,000


def test_writers_in_separate_blocks_are_counted_without_quadratic_bitsets(monkeypatch: pytest.MonkeyPatch) -> None:
    meter = Meter(monkeypatch)
    n = 20_000
    found = list(hp105.check(clips(n, blocks=True)))
    same_hook = 20 * (n // 20) * (n // 20 - 1) // 2
    assert found[-1].message == (f"{n * (n - 1) // 2 - same_hook - hp105.MAX_PAIRS:,} more pairs of hooks write "
                                 "the same resource in step.after with no order between them")
    assert len(found) == hp105.MAX_PAIRS + 1
    assert meter.work <= 20 * hp105.MAX_PAIRS * n  # only the printed pairs are spelled out (n * n = 4e8)


def test_past_its_budget_a_phase_stops_with_a_warning_that_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hp105, "MAX_WORK_BITS", 10_000)
    n = 600  # every hook writes two resources: counted with bitsets
    text = [HEAD, *(f"hook w{i} = probes.W() {{\n    writes x, y\n}}\n" for i in range(n))]
    text.append("loop { epoch { step {\n" + "".join(f"after {{ w{i} }}\n" for i in range(n)) + "} } }\n")
    ctx = run_passes(load_text("".join(text), "w.pipe"), "w.pipe")
    found = list(hp105.check(ctx))
    last = re.sub(r"[\d,]+ pairs", "N pairs", found[-1].message)
    assert last == (f"{n} attachments write resources in step.after, too many to compare every pair: HP105 stopped "
                    "after finding N pairs with no order between them")
    assert len(found) <= hp105.MAX_PAIRS + 1 and found[-1].help is not None and "10,000 bits of work" in found[-1].help
