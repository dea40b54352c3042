"""HP109: an ``on main`` hook whose type needs every process.

Built-ins marked ``collective`` in the catalog (validation gathers results,
checkpoint's ``save_state`` is a collective under FSDP/DeepSpeed) must run on
every rank; running one only on the main process leaves the others waiting
forever. A custom hook is one when its ``.pipe`` block says ``collective`` (or,
with ``--resolve``, its class has ``collective = True``).
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP109"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    for node in ctx.nodes:
        info = ctx.hooks[node.hook]
        a = node.attachment
        if a.on != "main" or not info.collective:
            continue
        if info.builtin is not None:
            name = info.builtin.name
            yield warning(
                CODE,
                f"`{node.hook}` runs only on the main process, but {name} hooks need every process: "
                "the other ranks would hang",
                a.on_span or a.span,
                (Note(f"`{node.hook}` is declared here as {name}", info.decl.span),),
                help=f"remove `on main`; {name} already writes only from the main process where it must",
            )
            continue
        yield warning(
            CODE,
            f"`{node.hook}` runs only on the main process, but it is declared `collective` (it needs every "
            "process): the other ranks would hang",
            a.on_span or a.span,
            (Note(f"`{node.hook}` is declared collective here", info.decl.span),),
            help="remove `on main` and let the hook decide which rank writes",
        )
