"""One pipeline as the editor sees it: compiled and linted from unsaved text.

The compile is ``compile_path`` with the open documents as an overlay, and the
lint is ``lint_compilation`` (the rules, ``[tool.hookpipe.lint]`` selection,
suppressions and promotion of ``hookpipe lint``), so the editor shows exactly
what the command line would print after a save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loader import Overlay, Parse
from hookpipe.compiler.pipeline import compile_path
from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl.parser import parse_text
from hookpipe.lint.config import ConfigError
from hookpipe.lint.runner import lint_compilation
from hookpipe.lsp.index import Index, build_index


@dataclass
class Analysis:
    """A root document's compilation, its lint findings by file, and (on first use) the index of its names."""

    root: Path
    ctx: Compilation
    #: Resolved path of every file read -> its findings (empty lists included, to clear old ones).
    diagnostics: dict[Path, list[Diagnostic]] = field(default_factory=dict)
    #: A bad ``[tool.hookpipe.lint]`` table: the compiler's errors are still shown.
    config_error: str | None = None

    @cached_property
    def index(self) -> Index:
        """Built when hover or navigation first asks: typing alone never pays for it."""
        return build_index(self.ctx)

    @property
    def parsed(self) -> bool:
        """Whether every file parsed: only then is the index complete."""
        return bool(self.ctx.files) and not any(d.code == "HP001" for d in self.ctx.diagnostics)


def analyse(root: Path, overlay: Overlay, parse: Parse = parse_text) -> Analysis:
    """Compile and lint ``root`` (an absolute path) with ``overlay``'s text for open documents.

    ``parse`` is the server's ``ParseCache.parse``, so a keystroke re-parses one item.
    Raises OSError when ``root`` itself cannot be read (neither open nor on disk).
    """
    ctx = compile_path(root, overlay=overlay, parse=parse)
    config_error = None
    try:
        found = lint_compilation(ctx).diagnostics
    except ConfigError as exc:
        config_error = str(exc)
        found = [d for d in ctx.diagnostics if d.severity == "error"]
    resolved = {name: Path(name).resolve() for name in ctx.sources.texts}
    by_file: dict[Path, list[Diagnostic]] = {path: [] for path in resolved.values()}
    by_file.setdefault(root, [])
    for d in found:
        file = resolved.get(d.span.file) or Path(d.span.file).resolve()
        by_file.setdefault(file, []).append(d)
    return Analysis(root, ctx, by_file, config_error)
