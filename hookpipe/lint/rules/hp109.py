"""HP109: an ``on main`` hook whose type needs every process.

Built-ins marked ``collective`` in the catalog (validation gathers results,
checkpoint's ``save_state`` is a collective under FSDP/DeepSpeed) must run on
every rank; running one only on the main process leaves the others waiting
forever. Custom hooks cannot be judged without importing them.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP109"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    for node in ctx.nodes:
        builtin = ctx.hooks[node.hook].builtin
        a = node.attachment
        if a.on != "main" or builtin is None or not builtin.collective:
            continue
        yield warning(
            CODE,
            f"`{node.hook}` runs only on the main process, but {builtin.name} hooks need every process: "
            "the other ranks would hang",
            a.on_span or a.span,
            (Note(f"`{node.hook}` is declared here as {builtin.name}", ctx.hooks[node.hook].decl.span),),
            help=f"remove `on main`; {builtin.name} already writes only from the main process where it must",
        )
