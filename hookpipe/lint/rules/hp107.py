"""HP107: the same hook attached twice in one phase.

Both attachments share one hook instance (and its state), so it runs twice in
the same phase, usually a copy-paste slip or a merge of two blocks. Firing at two
frequencies is clearer as two declared hooks. Attachments whose occurrence ranges
are disjoint (``every 10 epochs until 285`` and ``every epoch from 286``) are one
hook with a changing frequency: never twice at one occurrence, so not reported.

Past ``MAX_FINDINGS`` findings in a phase one more warning counts the rest (as
HP105 does): a 400 KB file that attaches one hook 99,990 times in one chain gave
99,989 warnings, 37 MB of text and 152 MB of SARIF.

Whether an attachment meets an earlier one of its hook is answered in O(log n)
(``_Earlier``); only the findings printed look for the first one it meets, the
note's "first attached here". Comparing each attachment with every earlier one
was quadratic when the ranges are disjoint: 5,000 attachments
``o every step from k until k`` took 30 s.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.plan import Guard
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP107"
#: Findings printed per phase; the rest are counted in one warning.
MAX_FINDINGS = 50

Key = tuple[str, str, str]  # (scope, phase, hook)


class _Ranges:
    """Occurrence ranges of one unit, added one by one; whether an added one meets a new range, in O(log n).

    A Fenwick tree over the ranges' starts (all known before the first is added)
    keeps, for each prefix of the starts, the latest end of a range added there.
    """

    def __init__(self, starts: list[int]) -> None:
        self.starts = sorted(set(starts))
        self.tree = [-math.inf] * (len(self.starts) + 1)

    def add(self, start: int, end: float) -> None:
        i = bisect_left(self.starts, start) + 1
        while i < len(self.tree):
            self.tree[i] = max(self.tree[i], end)
            i += i & -i

    def meets(self, start: int, end: float) -> bool:
        """Whether an added range ``[s, e]`` has ``s <= end`` and ``e >= start``."""
        i, latest = bisect_right(self.starts, end), -math.inf
        while i > 0:
            latest = max(latest, self.tree[i])
            i -= i & -i
        return latest >= start


class _Earlier:
    """The attachments of one hook in one phase so far: whether a new guard overlaps any (``Guard.overlaps``)."""

    def __init__(self, starts: dict[str, list[int]]) -> None:
        self.nodes: list[Node] = []
        self.always = 0  # guards with no unit
        self.by_unit: dict[str, int] = {}
        self.at_end: set[str] = set()
        self.endless: set[str] = set()  # units with a range that has no `until`
        self.ranges = {unit: _Ranges(s) for unit, s in starts.items()}

    def overlaps(self, guard: Guard) -> bool:
        unit = guard.unit
        if unit is None:
            return bool(self.nodes)
        if self.always or len(self.nodes) - self.by_unit.get(unit, 0) > 0:  # always on, or another unit
            return True
        if not self.by_unit.get(unit):
            return False
        # The last occurrence: where every `at end` fires, and in each endless range (Guard.overlaps).
        ends = unit in self.at_end
        if guard.at_end and (ends or unit in self.endless) or guard.until is None and ends:
            return True
        return self.ranges[unit].meets(guard.start, _end(guard))

    def add(self, node: Node, guard: Guard) -> None:
        self.nodes.append(node)
        unit = guard.unit
        if unit is None:
            self.always += 1
            return
        self.by_unit[unit] = self.by_unit.get(unit, 0) + 1
        if guard.at_end:
            self.at_end.add(unit)
        if guard.until is None:
            self.endless.add(unit)
        self.ranges[unit].add(guard.start, _end(guard))


def _end(guard: Guard) -> float:
    return math.inf if guard.until is None else guard.until


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    always = Guard()
    # two brackets of one hook run one after the other, never nested: not a double run
    attached = [(node, ctx.guards.get(node.id, always)) for node in ctx.nodes if not node.opens]
    starts: dict[Key, dict[str, list[int]]] = {}
    for node, guard in attached:
        if guard.unit is not None:
            starts.setdefault((node.scope, node.phase, node.hook), {}).setdefault(guard.unit, []).append(guard.start)
    seen: dict[Key, _Earlier] = {}
    found: dict[tuple[str, str], int] = {}  # phase -> findings so far
    left: dict[tuple[str, str], Node] = {}  # phase -> its first finding past ``MAX_FINDINGS``
    for node, guard in attached:
        key = (node.scope, node.phase, node.hook)
        earlier = seen.get(key)
        if earlier is None:
            earlier = seen[key] = _Earlier(starts.get(key, {}))
        clashes = earlier.overlaps(guard)
        if clashes:
            where = (node.scope, node.phase)
            found[where] = found.get(where, 0) + 1
            if found[where] > MAX_FINDINGS:
                left.setdefault(where, node)
            else:
                clash = next(n for n in earlier.nodes if ctx.guards.get(n.id, always).overlaps(guard))
                yield warning(
                    CODE,
                    f"`{node.hook}` is attached twice in {node.scope}.{node.phase}",
                    node.span,
                    (Note("first attached here", clash.span),),
                    help="remove one attachment; to fire at two frequencies, declare a second hook of the same type; "
                         "to change its frequency, end the first range with `until N` and start the second after it",
                )
        earlier.add(node, guard)
    for (scope, phase), first in left.items():
        yield warning(CODE, f"{found[scope, phase] - MAX_FINDINGS:,} more attachments in {scope}.{phase} repeat a hook "
                      "already attached there (the first of them is here)", first.span,
                      help=f"remove the repeated attachments (HP107 shows {MAX_FINDINGS} per phase)")
