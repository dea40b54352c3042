"""A lint run: compile each file, run the rules, apply selections and suppressions.

Files found under a folder that another linted file includes are not linted on
their own: an include fragment (hooks without a trainer, say) is not a whole
pipeline, and its findings already come through the file that includes it, with
spans in the fragment. Files named explicitly are always linted on their own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.pipeline import compile_path
from hookpipe.diagnostics import Diagnostic, Sources, has_errors, sort_diagnostics
from hookpipe.dsl.span import Span
from hookpipe.lint.config import Overrides, Selection, selection_for
from hookpipe.lint.discover import Target, discover
from hookpipe.lint.rules import run_rules
from hookpipe.lint.suppress import Suppression, suppressions, unused


@dataclass
class LintResult:
    """What a run found: diagnostics sorted by (file, line, column, code), severities as reported."""

    files: list[str]
    diagnostics: list[Diagnostic]
    sources: Sources = field(default_factory=Sources)

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity == "warning" for d in self.diagnostics)

    @property
    def failed(self) -> bool:
        """Exit 1: an error, or a warning promoted by warnings-as-errors (already an error here)."""
        return self.errors > 0


def lint_paths(paths: Sequence[str], overrides: Overrides = Overrides()) -> LintResult:
    """Lint files and folders (raises MissingPath, ConfigError for usage errors).

    Example:
        >>> result = lint_paths(["examples/digits/train.pipe"])
        >>> [(d.code, d.severity, d.span.line) for d in result.diagnostics]
        [('HP108', 'warning', 32)]
    """
    targets = discover(paths)
    compiled = [(t, _compile(t)) for t in targets]
    included = {_key(f.path) for _, ctx in compiled for f, depth in ctx.files if depth > 0}
    roots = [(t, ctx) for t, ctx in compiled if t.explicit or _key(t.path) not in included]
    sources = Sources()
    found: list[Diagnostic] = []
    marks: dict[str, dict[int, Suppression]] = {}
    clean_files: set[str] = set()
    for _, ctx in roots:
        sources.texts.update(ctx.sources.texts)
        found += ctx.diagnostics
        for f, _depth in ctx.files:
            marks.setdefault(f.path, suppressions(f))
        if not has_errors(ctx.diagnostics):
            clean_files.update(f.path for f, _ in ctx.files)
            found += run_rules(ctx, lambda code: _enabled_somewhere(ctx, code, overrides))
    kept: list[Diagnostic] = []
    for d in sort_diagnostics(found):
        selection = selection_for(d.span.file, overrides)
        if not selection.reports(d.code, d.severity):
            continue
        mark = marks.get(d.span.file, {}).get(d.span.line)
        if d.severity == "warning" and mark is not None and d.code in mark.codes:
            mark.used.add(d.code)
            continue
        kept.append(d)
    for file in sorted(clean_files):
        selection = selection_for(file, overrides)
        if "HP110" not in selection.enabled:
            continue
        for line in sorted(marks.get(file, {})):
            kept += unused(marks[file][line], selection.enabled)
    final = [_promote(d, selection_for(d.span.file, overrides)) for d in sort_diagnostics(kept)]
    return LintResult([t.path for t, _ in roots], final, sources)


def _compile(target: Target) -> Compilation:
    """Compile one file; undecodable text is a finding (HP001), not a crash."""
    try:
        return compile_path(target.path)
    except UnicodeDecodeError as exc:
        span = Span(target.path, 1, 1, 1, 1)
        message = f"the file is not valid UTF-8 (byte {exc.start})"
        return Compilation(files=[], sources=Sources(), main=target.path,
                           diagnostics=[Diagnostic("HP001", "error", message, span)])


def _key(path: str) -> Path:
    return Path(path).resolve()


def _enabled_somewhere(ctx: Compilation, code: str, overrides: Overrides) -> bool:
    """Run a rule if any file of the compilation enables it; filtering per file comes later."""
    return any(code in selection_for(f.path, overrides).enabled for f, _ in ctx.files)


def _promote(d: Diagnostic, selection: Selection) -> Diagnostic:
    if d.severity == "warning" and selection.warnings_as_errors:
        return dataclasses.replace(d, severity="error")
    return d
