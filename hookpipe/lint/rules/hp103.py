"""HP103: a hook declared but never attached.

A declared hook does nothing until it is attached to a phase; an unattached one
is usually a forgotten line (the checkpoint that never saves), so it is flagged
where it is declared.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.rules._common import warning

CODE = "HP103"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    attached = {node.hook for node in ctx.nodes}
    for name, info in ctx.hooks.items():
        if name not in attached:
            yield warning(
                CODE,
                f"hook `{name}` is declared but never attached, so it never runs",
                info.decl.name_span,
                help=f"attach it in a phase block (e.g. `step {{ after {{ {name} }} }}`) or remove the declaration",
            )
