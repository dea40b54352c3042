"""One pipeline as the editor sees it: compiled and linted from unsaved text.

The compile is ``compile_path`` with the open documents as an overlay, and the
lint is ``lint_compilation`` (the rules, ``[tool.hookpipe.lint]`` selection,
suppressions and promotion of ``hookpipe lint``), so the editor shows exactly
what the command line would print after a save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loader import Overlay
from hookpipe.compiler.pipeline import compile_path
from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.config import ConfigError
from hookpipe.lint.runner import lint_compilation
from hookpipe.lsp.index import Index, build_index


@dataclass
class Analysis:
    """A root document's compilation, its lint findings by file, and the index of its names."""

    root: Path
    ctx: Compilation
    index: Index
    #: Resolved path of every file read -> its findings (empty lists included, to clear old ones).
    diagnostics: dict[Path, list[Diagnostic]] = field(default_factory=dict)
    #: A bad ``[tool.hookpipe.lint]`` table: the compiler's errors are still shown.
    config_error: str | None = None

    @property
    def files(self) -> list[Path]:
        return list(self.diagnostics)

    @property
    def parsed(self) -> bool:
        """Whether every file parsed: only then is the index complete."""
        return bool(self.ctx.files) and not any(d.code == "HP001" for d in self.ctx.diagnostics)


def analyse(root: Path, overlay: Overlay) -> Analysis:
    """Compile and lint ``root`` (an absolute path) with ``overlay``'s text for open documents.

    Raises OSError when ``root`` itself cannot be read (neither open nor on disk).
    """
    ctx = compile_path(root, overlay=overlay)
    config_error = None
    try:
        found = lint_compilation(ctx).diagnostics
    except ConfigError as exc:
        config_error = str(exc)
        found = [d for d in ctx.diagnostics if d.severity == "error"]
    by_file: dict[Path, list[Diagnostic]] = {Path(f).resolve(): [] for f in ctx.sources.texts}
    by_file.setdefault(root, [])
    for d in found:
        by_file.setdefault(Path(d.span.file).resolve(), []).append(d)
    return Analysis(root, ctx, build_index(ctx), by_file, config_error)
