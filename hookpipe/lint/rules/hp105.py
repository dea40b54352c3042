"""HP105: two hooks in one phase write the same resource with no order between them.

The effect rule orders writers before readers, but not writers among
themselves; when no path in the phase graph relates two writers, which one
wins is decided only by declaration order, an accident the file should state.
Both hooks being the same is HP107's business.

One pass over the phase graph in reverse topological order. A writer can only
reach writers after it in that order, all of them seen by then, so a pair is
unordered when the earlier one does not reach the later. What a node reaches is
kept (``_reach``) only until its last predecessor has read it, as "every
writer seen up to some point, and these few more", so one long block costs
constant work per attachment; the pairs of a writer that writes one resource are
counted from how many writers of that resource (and of its own hook) were seen
and reached, and only pairs it must print are spelled out as bitsets. The rule
before this one held two bitsets of every writer per node: 99,000 attachments in
a 450 KB file took 2.9 GB and 12 s.

Past ``MAX_PAIRS`` findings in a phase one more warning counts the rest instead
of printing millions. Shapes the counting does not cover (writers of several
resources each, reaching scattered sets) fall back to bitsets; past
``MAX_WORK_BITS`` of bitset work or ``MAX_LIVE_BITS`` held at once the phase
stops with a warning that says the rest was not compared.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator

import networkx as nx

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning
from hookpipe.lint.rules._reach import Groups, Key, Reach, reach_of, with_own

CODE = "HP105"
#: Findings printed per phase; the rest are counted in one warning.
MAX_PAIRS = 50
#: Bits of bitset work per phase (each bitset built or combined costs its length):
#: about a second. The shapes the counting covers (one long block, every attachment
#: in its own block) need none, up to the 100,000-attachment limit.
MAX_WORK_BITS = 2**34
#: Bits of bitsets held at once per phase: 32 MiB.
MAX_LIVE_BITS = 2**28
#: A writer whose reach has at most this many bits besides "every writer up to k" is counted, not bitset.
FEW = 4


@dataclass
class _Pass:
    """One phase's pass: what is held, what was found, and what it cost."""

    writes: dict[int, tuple[str, ...]]
    hooks: dict[int, str]
    keys: dict[int, list[Key]] = field(default_factory=dict)  # writer -> its groups
    groups: Groups = field(default_factory=Groups)
    by_bit: list[int] = field(default_factory=list)  # the writer of each bit, in the order seen
    below: dict[int, Reach] = field(default_factory=dict)  # node -> what it reaches, until its preds ran
    waiting: dict[int, int] = field(default_factory=dict)  # node -> predecessors not yet done
    pairs: int = 0
    #: (writer, its bit, its reach, its pairs), latest in graph order first: the fewest
    #: entries, from the end, that hold ``MAX_PAIRS`` pairs (the ones printed).
    recent: deque[tuple[int, int, Reach, int]] = field(default_factory=deque)
    held: int = 0  # pairs in ``recent``

    def over(self) -> bool:
        return self.groups.work > MAX_WORK_BITS or self.groups.live > MAX_LIVE_BITS


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    for (scope, phase), graph in ctx.graphs.items():
        writes = {n: ctx.node_effects(ctx.nodes[n]).writes for n in graph if n >= 0}
        writers = sorted(n for n, w in writes.items() if w)
        # a pair is two different hooks: a phase whose writers are one hook (attached many times) has none
        if len({ctx.nodes[n].hook for n in writers}) >= 2:
            yield from _phase(ctx, f"{scope}.{phase}", graph, _prepared(ctx, writes, writers))


def _prepared(ctx: Compilation, writes: dict[int, tuple[str, ...]], writers: list[int]) -> _Pass:
    """A phase's pass before it starts: each writer's groups, and how many writers each group has."""
    state = _Pass(writes, {n: ctx.nodes[n].hook for n in writers})
    shared: dict[tuple[tuple[str, ...], str], list[Key]] = {}  # one list per hook, not one per attachment
    for n in writers:
        kind = (writes[n], state.hooks[n])
        if kind not in shared:
            shared[kind] = Groups.keys(*kind)
        state.keys[n] = shared[kind]
        state.groups.expect(shared[kind])
    return state


def _phase(ctx: Compilation, where: str, graph: nx.DiGraph, state: _Pass) -> Iterator[Diagnostic]:
    finished = True
    for n in reversed(list(nx.topological_sort(graph))):
        _visit(graph, n, state)
        if state.over():
            finished = False
            break
    yield from _shown(ctx, where, state)
    writers = sorted(state.hooks)
    first = ctx.nodes[writers[0]]
    more = state.pairs - min(state.pairs, MAX_PAIRS)
    if not finished:
        yield warning(CODE, f"{len(writers):,} attachments write resources in {where}, too many to compare every "
                      f"pair: HP105 stopped after finding {state.pairs:,} pairs with no order between them", first.span,
                      help="state the order among the writers of each resource (HP105 stops after "
                      f"{MAX_WORK_BITS:,} bits of work or {MAX_LIVE_BITS:,} bits held per phase)")
    elif more:
        yield warning(CODE, f"{more:,} more pairs of hooks write the same resource in {where} with no "
                      "order between them", first.span, help="state the order among the writers of each resource")


def _visit(graph: nx.DiGraph, n: int, state: _Pass) -> None:
    """Node ``n``, every node after it done: what it reaches, and if it writes, its unordered later writers."""
    successors = list(graph.succ[n])
    reach = reach_of([state.below[s] for s in successors], state.groups)
    for s in successors:
        state.waiting[s] -= 1
        if not state.waiting[s]:
            state.groups.live -= state.below.pop(s)[1].bit_length()
            del state.waiting[s]
    written = state.writes.get(n, ())
    own = len(state.by_bit)
    if written:
        state.by_bit.append(n)
        count = _count(n, own, reach, state)
        if count:
            _remember(n, own, reach, count, state)
        state.groups.add(own, state.keys[n])
    predecessors = len(graph.pred[n])
    if predecessors:
        if written:
            reach = with_own(reach, own, state.groups)
        state.below[n], state.waiting[n] = reach, predecessors
        state.groups.live += reach[1].bit_length()


def _count(n: int, own: int, reach: Reach, state: _Pass) -> int:
    """How many writers seen before ``n`` (bits below ``own``) share a resource with it, are another hook, and
    are not reached from it."""
    k, rest = reach
    if not rest and k == own:  # reaches every writer after it: one long block
        return 0
    keys, hook = state.keys[n], state.hooks[n]
    if len(keys) == 3 and rest.bit_count() <= FEW:  # one resource: ("h", hook), ("r", it), ("hr", hook, it)
        resource = keys[1][1]
        mine, both = state.groups.bits(("r", resource)), state.groups.bits(("hr", hook, resource))
        reached = bisect_left(mine, k) - bisect_left(both, k)
        for bit in _bits_from(rest, k):
            other = state.by_bit[bit]
            reached += resource in state.writes[other] and state.hooks[other] != hook
        return len(mine) - len(both) - reached
    return _free(n, own, reach, state).bit_count()


def _free(n: int, own: int, reach: Reach, state: _Pass) -> int:
    """The bitset of the writers seen before ``n`` that pair with it (sharing a resource, another hook, not reached)."""
    groups = state.groups
    shares = 0
    for resource in set(state.writes[n]):
        shares |= groups.mask(("r", resource))
    k, rest = reach
    below = (1 << own) - 1
    free = shares & below & ~((1 << k) - 1) & ~rest & ~groups.mask(("h", state.hooks[n]))
    groups.work += 5 * max(shares.bit_length(), own)
    return free


def _remember(n: int, own: int, reach: Reach, count: int, state: _Pass) -> None:
    state.pairs += count
    state.recent.append((n, own, reach, count))
    state.held += count
    while state.held - state.recent[0][3] >= MAX_PAIRS:
        state.held -= state.recent.popleft()[3]


def _bits_from(value: int, k: int) -> Iterator[int]:
    """The set bits of ``value`` at or above ``k``, lowest first."""
    rest = value >> k
    while rest:
        low = rest & -rest
        rest ^= low
        yield low.bit_length() - 1 + k


def _shown(ctx: Compilation, where: str, state: _Pass) -> Iterator[Diagnostic]:
    """The first ``MAX_PAIRS`` pairs in graph order, each named in declaration order (the note at the first)."""
    shown = 0
    for n, own, reach, _ in reversed(state.recent):
        free = _free(n, own, reach, state)
        while free and shown < MAX_PAIRS:
            top = free.bit_length() - 1
            free ^= 1 << top
            a, b = sorted((ctx.nodes[n], ctx.nodes[state.by_bit[top]]), key=lambda node: node.id)
            what = ", ".join(f"`{r}`" for r in sorted(set(state.writes[a.id])) if r in state.writes[b.id])
            shown += 1
            yield warning(
                CODE,
                f"`{a.hook}` and `{b.hook}` both write {what} in {where} with no order between them",
                b.span,
                (Note(f"`{a.hook}` writes {what} here", a.span),),
                help=f"state the order: `{a.hook} -> {b.hook}` in one block, or `order {a.hook} before {b.hook}`",
            )
