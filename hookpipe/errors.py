"""One exception root; a subclass per phase of the pipeline.

Positions are attributes, so tools can use them without parsing messages.
"""

from __future__ import annotations

from typing import Sequence

from hookpipe.diagnostics import Diagnostic, Sources, format_diagnostic, sort_diagnostics


class HookpipeError(Exception):
    """Root of every error hookpipe raises on purpose."""


class CompileError(HookpipeError):
    """A pipeline failed to compile; carries every diagnostic found, not just the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: Sources | None = None) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        self.sources = sources or Sources()
        first = self.diagnostics[0] if self.diagnostics else None
        self.path = first.span.file if first else None
        self.line = first.span.line if first else None
        self.column = first.span.column if first else None
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n\n".join(format_diagnostic(d, self.sources) for d in self.diagnostics)
