"""A lint run: compile each file, run the rules, apply selections and suppressions.

A file that another linted file includes is not linted on its own: an include
fragment (hooks without a trainer, say) is not a whole pipeline, and its
findings already come through the file that includes it, with spans in the
fragment. (Two files that include each other are both linted, so the include
cycle is reported.) Nor is a file whose include the loader refused for leaving
the project root (``included_by``): the includer's HP010 says what to fix. The
root is each file's own, or the run's ``RootRule`` (``lint --root``,
``--allow-outside-root``, as ``check`` takes them). Which files are fragments is
read from their include lines before anything is compiled
(``hookpipe.lint.fragments``): compiling every file and dropping the fragments
afterwards made a folder whose file i includes every later file cubic (160
files: 49 s).

Parsing dominates the time (an LALR parser in pure Python), so with many
files the per-file work runs in forked worker processes, one per CPU; results
come back as plain diagnostics and are merged in file order, so the output does
not depend on how the work was split.

At most ``MAX_PER_FILE`` diagnostics of one code are reported per file, and one
more that counts the rest (``hookpipe.diagnostics.cap_per_file``).

A file included by many linted files is parsed once per run (per worker process),
not once per file that includes it: ``SharedParses`` keeps each file's parse by
its name and text for the run (60 roots sharing a 190 KB include parsed it 60 times),
up to a total size, so not a fixed count of files that a larger set of shared includes would cycle through.
"""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from hookpipe.compiler.class_effects import ClassLookup
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loader import MAX_PIPELINE_CHARS
from hookpipe.compiler.pipeline import compile_path
from hookpipe.diagnostics import Diagnostic, Sources, cap_per_file, has_errors, sort_diagnostics
from hookpipe.dsl import ast
from hookpipe.dsl.grammar import parser
from hookpipe.dsl.parser import ParseResult, parse_text
from hookpipe.fileaccess import display_name, project_root
from hookpipe.lint.config import Overrides, Selection, clear_caches, selection_for
from hookpipe.lint.discover import Target, discover
from hookpipe.lint.fragments import file_key, leftovers, split
from hookpipe.lint.rules import check_suppressions, run_rules
from hookpipe.lint.suppress import Suppression, suppressions

#: Below this many files a process pool costs more than it saves.
PARALLEL_FROM = 24


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


@dataclass(frozen=True)
class RootRule:
    """Where a run's files may read includes from: ``--root`` and ``--allow-outside-root``, as ``check`` takes them.

    ``root`` None is each file's own project root (the folder with pyproject.toml
    or .git above it); ``allow_outside`` lifts the root rule (trusted input only).
    """

    root: str | None = None
    allow_outside: bool = False


@dataclass
class _Outcome:
    """One file's lint, before selection and suppression: small and picklable."""

    target: Target
    included: list[str]  # resolved paths of the files it includes
    files: list[str]  # display paths of every file read
    texts: dict[str, str]
    diagnostics: list[Diagnostic]
    marks: dict[str, dict[int, Suppression]]
    clean: bool  # compiled without errors, so the rules ran


def lint_paths(paths: Sequence[str], overrides: Overrides | None = None, jobs: int | None = None,
               resolver: Resolver | None = None, root_rule: RootRule | None = None) -> LintResult:
    """Lint files and folders (raises MissingPath, ConfigError for usage errors).

    Args:
        paths: files, or folders searched recursively for ``*.pipe``.
        overrides: command-line selection, replacing pyproject.toml's keys it sets.
        jobs: worker processes; None picks one per CPU for large runs, 1 runs in-process.
        root_rule: the project root includes may not leave (default: each file's own), as ``check --root``.

    Example:
        >>> result = lint_paths(["examples/digits/train.pipe"])
        >>> [(d.code, d.severity, d.span.line) for d in result.diagnostics]
        []
    """
    global _PARSES
    overrides = overrides if overrides is not None else Overrides()
    clear_caches()
    targets = discover(paths)
    for target in targets:  # config errors are usage errors: raise them before any work
        selection_for(target.path, overrides)
    _PARSES = SharedParses()
    try:
        return _report(_run(targets, overrides, jobs, resolver, root_rule or RootRule()), overrides)
    finally:
        _PARSES = None


class SharedParses:
    """Parses kept for one lint run, by (file name, text): a shared include is parsed once.

    The AST is immutable, so compilations can share it; each gets its own list of
    the parse's diagnostics. At most ``capacity`` characters of text have their
    parses kept (least recently used dropped first): every file of the largest
    pipeline (``MAX_PIPELINE_CHARS``) fits, so roots that share includes reuse
    them however many there are, and a run over thousands of files stays bounded
    (an AST takes about 80 bytes per character of text).
    """

    def __init__(self, capacity: int = MAX_PIPELINE_CHARS) -> None:
        self.capacity = capacity
        self.done: OrderedDict[tuple[str, str], ParseResult] = OrderedDict()
        self.chars = 0
        self.misses = 0

    def parse(self, text: str, path: str) -> ParseResult:
        key = (path, text)
        found = self.done.get(key)
        if found is None:
            self.misses += 1
            found = self.done[key] = parse_text(text, path)
            self.chars += len(text)
            while self.chars > self.capacity and len(self.done) > 1:
                (_, dropped), _ = self.done.popitem(last=False)
                self.chars -= len(dropped)
        else:
            self.done.move_to_end(key)
        return ParseResult(found.file, list(found.diagnostics))


#: The current run's parses (set by ``lint_paths``; forked workers inherit it and fill their own copy).
_PARSES: SharedParses | None = None


def lint_compilation(ctx: Compilation, overrides: Overrides | None = None) -> LintResult:
    """Lint one compilation made by the caller (the language server's from unsaved text, `hookpipe run`'s).

    The same rules, selection, suppressions and promotion as ``lint_paths``,
    with the configuration read so far kept (``clear_caches`` forgets it);
    raises ConfigError for a bad ``[tool.hookpipe.lint]`` table.

    Example:
        >>> from hookpipe.compiler.pipeline import compile_path
        >>> lint_compilation(compile_path("examples/digits/train.pipe")).diagnostics
        []
    """
    overrides = overrides if overrides is not None else Overrides()
    for file, _ in ctx.files:
        selection_for(file.path, overrides)
    return _report([_outcome(Target(ctx.main), ctx, overrides)], overrides)


def _report(outcomes: list[_Outcome], overrides: Overrides) -> LintResult:
    """Merge per-file outcomes: drop fragments, select, suppress, add HP110, promote."""
    includes = {file_key(o.target.path): set(o.included) for o in outcomes}
    roots = [o for o in outcomes if not is_fragment(file_key(o.target.path), includes)]
    sources = Sources()
    found: list[Diagnostic] = []
    marks: dict[str, dict[int, Suppression]] = {}
    clean_files: set[str] = set()
    for outcome in roots:
        sources.texts.update(outcome.texts)
        found += outcome.diagnostics
        for file, by_line in outcome.marks.items():
            marks.setdefault(file, by_line)
        if outcome.clean:
            clean_files.update(outcome.files)
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
        by_line = marks.get(file, {})
        kept += check_suppressions([by_line[line] for line in sorted(by_line)], selection_for(file, overrides).enabled)
    # At most MAX_PER_FILE of one code per file, after suppression (a suppressed finding is not counted), and
    # one more finding counting the rest: a generated file's 100,000 findings are not 100,000 lines of CI log.
    capped = cap_per_file(sort_diagnostics(kept))
    final = [_promote(d, selection_for(d.span.file, overrides)) for d in sort_diagnostics(capped)]
    return LintResult([display_name(o.target.path) for o in roots], final, sources)


def _run(targets: list[Target], overrides: Overrides, jobs: int | None,
         resolver: Resolver | None = None, rule: RootRule = RootRule()) -> list[_Outcome]:
    """Lint the roots (in parallel for many), then any probable fragment that no root read."""
    order = split([t.path for t in targets], rule.root, rule.allow_outside)
    done = {o.target.path: o for o in _run_all([Target(p) for p in order.roots], overrides, jobs, resolver, rule)}

    def one(path: str) -> list[str]:
        done[path] = _lint_one(Target(path), overrides, resolver, rule)
        return done[path].included

    leftovers(order.fragments, {key for o in done.values() for key in o.included}, one)
    return [done[t.path] for t in targets if t.path in done]


def _run_all(targets: list[Target], overrides: Overrides, jobs: int | None,
             resolver: Resolver | None = None, rule: RootRule = RootRule()) -> list[_Outcome]:
    workers = _workers(len(targets)) if jobs is None else max(1, jobs)
    if resolver is not None:  # imports user code: once, in this process
        return [_lint_one(t, overrides, resolver, rule) for t in targets]
    if workers <= 1:
        return [_lint_one(t, overrides, None, rule) for t in targets]
    import multiprocessing  # only large runs pay for importing it
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return [_lint_one(t, overrides, None, rule) for t in targets]

    parser()  # build the grammar once; forked workers inherit it
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        chunk = max(1, len(targets) // (workers * 4))
        return list(pool.map(_lint_one, targets, [overrides] * len(targets), [None] * len(targets),
                             [rule] * len(targets), chunksize=chunk))


def _workers(files: int) -> int:
    if files < PARALLEL_FROM:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return min(cpus, files // (PARALLEL_FROM // 2))


def _lint_one(target: Target, overrides: Overrides, resolver: Resolver | None = None,
              rule: RootRule = RootRule()) -> _Outcome:
    return _outcome(target, _compile(target, resolver, rule), overrides, resolver, rule)


def _outcome(target: Target, ctx: Compilation, overrides: Overrides, resolver: Resolver | None = None,
             rule: RootRule = RootRule()) -> _Outcome:
    found = list(ctx.diagnostics)
    clean = not has_errors(ctx.diagnostics)
    if clean and resolver is not None:
        found += resolver.check(ctx)
        clean = not has_errors(found)
    if clean:
        found += run_rules(ctx, lambda code: _enabled_somewhere(ctx, code, overrides))
    return _Outcome(
        target=target,
        included=included_by(ctx, rule.root, rule.allow_outside),
        files=[f.path for f, _ in ctx.files],
        texts=dict(ctx.sources.texts),
        diagnostics=found,
        marks={f.path: suppressions(f) for f, _ in ctx.files},
        clean=clean,
    )


@dataclass(frozen=True)
class Resolver:
    """What ``lint --resolve`` adds, given by the command (the lint never imports the runtime).

    ``classes_for`` gives, for one linted file, what reads hook classes' own effects
    and ``collective`` (imported by that file's module search rule); ``check``
    returns the diagnostics of importing what a clean compilation names.
    """

    classes_for: Callable[[str], ClassLookup]
    check: Callable[[Compilation], list[Diagnostic]]


def is_fragment(key: str, includes: dict[str, set[str]]) -> bool:
    """Included by another linted file that it does not include back."""
    return any(key in others and other not in includes[key] for other, others in includes.items() if other != key)


def _compile(target: Target, resolver: Resolver | None = None, rule: RootRule = RootRule()) -> Compilation:
    """Compile one file; one that cannot be read is a finding (HP001, HP010), not a crash.

    With a ``resolver`` custom hook classes are read for their own declarations.
    """
    parse = _PARSES.parse if _PARSES is not None else parse_text
    return compile_path(target.path, root=rule.root, allow_outside_root=rule.allow_outside,
                        classes=resolver.classes_for(target.path) if resolver is not None else None, parse=parse)


def included_by(ctx: Compilation, root: str | os.PathLike[str] | None = None,
                allow_outside_root: bool = False) -> list[str]:
    """The keys (:func:`file_key`) of the files ``ctx``'s main file includes, as :func:`is_fragment` reads them.

    Also the files its includes name outside the project root (``root``, default: the
    main file's), which the loader refused with HP010: such a file is meant as a
    fragment, and linting it on its own as well would add errors of a pipeline it is
    not (HP008, no trainer) to the one that says what to fix. Those are found from the
    include's text alone, as the loader refuses them: no file outside the root is
    looked at, so the outcome cannot tell a pull request which files exist there.
    """
    keys = [file_key(f.path) for f, depth in ctx.files if depth > 0]
    # Only the includes an HP010 points at (60 files that include one another hold 3,540 include lines).
    refused = {d.span for d in ctx.diagnostics if d.code == "HP010"}
    if allow_outside_root or not refused:
        return keys
    within = os.fspath(Path(root).resolve() if root is not None else project_root(ctx.main))
    prefix = within.rstrip(os.sep) + os.sep
    where = {span.file for span in refused}
    for file, _ in ctx.files:
        if file.path not in where:
            continue
        folder = os.path.dirname(file_key(file.path))
        for item in file.items:
            if isinstance(item, ast.Include) and item.span in refused:
                target = os.path.normpath(os.path.join(folder, item.path))
                if target != within and not target.startswith(prefix):
                    keys.append(target)
    return keys


def _enabled_somewhere(ctx: Compilation, code: str, overrides: Overrides) -> bool:
    """Run a rule if any file of the compilation enables it; filtering per file comes later."""
    return any(code in selection_for(f.path, overrides).enabled for f, _ in ctx.files)


def _promote(d: Diagnostic, selection: Selection) -> Diagnostic:
    if d.severity == "warning" and selection.warnings_as_errors:
        return dataclasses.replace(d, severity="error")
    return d
