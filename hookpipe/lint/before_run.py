"""The lint as ``hookpipe run`` runs it before the first step.

A run is where a lint warning costs the most (an HP102 job trains for hours with
validation on stale weights), so ``run`` reports the same findings as ``hookpipe
lint FILE``, with the project's ``[tool.hookpipe.lint]`` settings and the file's
suppressions, in the lint's text format. One rule changes severity with the run:
HP109 (a collective hook ``on main``) is a certain hang as soon as more than one
process runs, so it is an error then.

The lint judges the compilation that runs (``run`` compiles once, with the hook
classes' own effects that order the run), not a second compilation of the file.
"""

from __future__ import annotations

import dataclasses

from hookpipe.compiler.context import Compilation
from hookpipe.lint.formats.text import render
from hookpipe.lint.runner import LintResult, lint_compilation

__all__ = ["HANGS_WITH_PROCESSES", "lint_before_run"]

#: Warnings that become errors when the run has more than one process.
HANGS_WITH_PROCESSES: frozenset[str] = frozenset({"HP109"})


def lint_before_run(ctx: Compilation, processes: int) -> tuple[LintResult, str]:
    """The lint of the compilation ``ctx`` for a run of ``processes`` processes, and its text report ("" when clean)."""
    result = lint_compilation(ctx)
    if processes > 1:
        result.diagnostics = [
            dataclasses.replace(d, severity="error", message=f"{d.message} ({processes} processes are running)")
            if d.code in HANGS_WITH_PROCESSES and d.severity == "warning" else d
            for d in result.diagnostics
        ]
    if not result.diagnostics:
        return result, ""
    return result, render(result) + "hookpipe run: the lint runs before the first step; --no-lint turns it off\n"
