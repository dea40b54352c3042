"""HP111: a ``log()`` hook with no tracker to write to.

``log()`` sends its record to the trackers the trainer's ``log_with`` names;
with none (the default is ``[]``) every record goes nowhere, and nothing at run
time says so: the run looks like it logs. A ``--set trainer.log_with=...`` at run
time is not visible here; the warning can be suppressed where that is the plan.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP111"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    if ctx.trainer.get("log_with"):
        return
    seen: set[str] = set()
    for node in ctx.nodes:
        info = ctx.hooks[node.hook]
        if info.builtin is None or info.builtin.name != "log" or node.hook in seen:
            continue
        seen.add(node.hook)
        written = ctx.settings.get("log_with")
        notes = (Note("`log_with` is empty here", written.span),) if written is not None else ()
        yield warning(
            CODE,
            f"`{node.hook}` (log) writes to the trackers of `trainer.log_with`, and it names none: "
            "its records go nowhere",
            node.attachment.span,
            notes,
            help='name a tracker in the trainer block, e.g. `log_with = ["csv"]` (metrics.csv in `log_dir`) or '
                 '`["tensorboard"]`',
        )
