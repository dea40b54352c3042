"""HP106: wrapper hooks that do not nest.

A hook attached to both the ``before`` and the ``after`` phase of one scope wraps
that scope (a timer, a profiler, a context). Two wrappers must close in the
reverse order they opened, as ``with`` blocks do; judged on the lowered plan,
the order that actually runs.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.plan import SCOPES, PlanEntry
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.lint.rules._common import warning

CODE = "HP106"


def _first(entries: tuple[PlanEntry, ...]) -> dict[str, tuple[int, PlanEntry]]:
    found: dict[str, tuple[int, PlanEntry]] = {}
    for index, entry in enumerate(entries):
        found.setdefault(entry.hook, (index, entry))
    return found


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    if ctx.plan is None:
        return
    for scope in SCOPES:
        opens = _first(ctx.plan.phase(scope, "before").entries)
        closes = _first(ctx.plan.phase(scope, "after").entries)
        wrappers = sorted((h for h in opens if h in closes), key=lambda h: opens[h][0])
        for i, a in enumerate(wrappers):
            for b in wrappers[i + 1:]:
                if closes[a][0] < closes[b][0]:
                    yield warning(
                        CODE,
                        f"wrapper hooks `{a}` and `{b}` do not nest in `{scope}`: "
                        f"`{a}` opens before `{b}` but also closes before it",
                        closes[a][1].span,
                        (Note(f"`{a}` opens here", opens[a][1].span),
                         Note(f"`{b}` opens here", opens[b][1].span),
                         Note(f"`{b}` closes here", closes[b][1].span)),
                        help=f"close in reverse order: `{b} -> {a}` in `{scope} {{ after {{ ... }} }}`",
                    )
