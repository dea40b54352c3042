"""HP107: the same hook attached twice in one phase.

Both attachments share one hook instance (and its state), so it runs twice in
the same phase, usually a copy-paste slip or a merge of two blocks. Firing at two
frequencies is clearer as two declared hooks.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP107"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str, str], Node] = {}
    for node in ctx.nodes:
        key = (node.scope, node.phase, node.hook)
        if key not in first:
            first[key] = node
            continue
        yield warning(
            CODE,
            f"`{node.hook}` is attached twice in {node.scope}.{node.phase}",
            node.span,
            (Note("first attached here", first[key].span),),
            help="remove one attachment; to fire at two frequencies, declare a second hook of the same type",
        )
