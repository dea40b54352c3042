"""HP107: the same hook attached twice in one phase.

Both attachments share one hook instance (and its state), so it runs twice in
the same phase, usually a copy-paste slip or a merge of two blocks. Firing at two
frequencies is clearer as two declared hooks. Attachments whose occurrence ranges
are disjoint (``every 10 epochs until 285`` and ``every epoch from 286``) are one
hook with a changing frequency: never twice at one occurrence, so not reported.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.plan import Guard
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP107"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, str, str], list[Node]] = {}
    always = Guard()
    for node in ctx.nodes:
        if node.opens:  # two brackets of one hook run one after the other, never nested: not a double run
            continue
        key = (node.scope, node.phase, node.hook)
        earlier = seen.setdefault(key, [])
        guard = ctx.guards.get(node.id, always)
        clash = next((n for n in earlier if ctx.guards.get(n.id, always).overlaps(guard)), None)
        earlier.append(node)
        if clash is None:
            continue
        yield warning(
            CODE,
            f"`{node.hook}` is attached twice in {node.scope}.{node.phase}",
            node.span,
            (Note("first attached here", clash.span),),
            help="remove one attachment; to fire at two frequencies, declare a second hook of the same type; "
                 "to change its frequency, end the first range with `until N` and start the second after it",
        )
