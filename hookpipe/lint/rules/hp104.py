"""HP104: no optimizer attached, so the model never updates.

An optimizer is any attached hook that writes ``params`` (the built-in
``optimizer`` does; a custom one says so with ``writes params``). Custom hooks
whose effects are not declared in the file might step the optimizer from a class
attribute the lint cannot see without importing user code, so they are named in
a note rather than silencing the warning.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import anchor, warning

CODE = "HP104"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    attached = list(dict.fromkeys(node.hook for node in ctx.nodes))
    if any("params" in ctx.hooks[name].all_effects.writes for name in attached):
        return
    written = ctx.settings.get("optimizer")
    span = written.span if written is not None else anchor(ctx)
    notes = tuple(
        Note(f"`{name}` declares no effects here; if it steps the optimizer, declare `writes params`",
             ctx.hooks[name].decl.name_span)
        for name in attached
        if ctx.hooks[name].builtin is None and ctx.hooks[name].decl.effects is None
    )
    yield warning(
        CODE,
        "no optimizer is attached: the model never updates",
        span,
        notes,
        help="declare `hook optimize = optimizer()` and attach it in `step { after { ... } }`",
    )
