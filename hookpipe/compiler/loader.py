"""Reading a pipeline and everything it includes.

Includes are resolved relative to the including file, read once each (a file
included twice contributes once), and may not form a cycle or leave the project
root: the folder holding pyproject.toml or .git above the main file, unless the
caller allows it. Symlinks are resolved before that check, so a link cannot
smuggle a file in from outside.

The work of one load grows with the text it reads, not with the number of
include lines times the depth: each include path is resolved once per load, the
cycle check is a set lookup, and all the files of one pipeline together hold at
most ``MAX_PIPELINE_CHARS`` (a file where file i includes every later one has
n * n / 2 include lines; 300 such files took seconds per load of resolving the same
300 paths again and comparing each with the whole include stack).

An include of a file still being read closes a cycle (a back edge of the walk,
so finding them is linear in the include lines). Each such include is noted,
not reported on the spot: a folder of 60 files that all include one another has
1,770 of them per pipeline, and spelling out each (with its chain of up to 60
names) printed 70 MB for the folder. At most ``MAX_CYCLES_SHOWN`` are reported
per load, the shortest cycle through the main file first (each linted file
names its own cycle), then in the order met; one more error counts the rest.
Includes past ``MAX_INCLUDE_DEPTH`` are capped the same way.

An editor has files whose text is not on disk yet: ``overlay`` maps resolved
paths to that text, which is read instead of the file (the language server
passes every open document).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Protocol

from hookpipe.diagnostics import Diagnostic, Note, Sources
from hookpipe.dsl import ast
from hookpipe.dsl.parser import MAX_SOURCE_CHARS, ParseResult, parse_text
from hookpipe.dsl.span import Span
from hookpipe.fileaccess import ROOT_OPTION, Refused, display_name, inside, project_root, read_source, resolve

#: Includes nested deeper than this are refused (HP010); real projects use two or three.
MAX_INCLUDE_DEPTH = 64
#: Characters all the files of one pipeline may hold together (HP010 at the include
#: that goes past it): as much as one file may (``MAX_SOURCE_CHARS``), so includes
#: cannot make one pipeline hundreds of times larger than a file. Real ones are kilobytes.
MAX_PIPELINE_CHARS = MAX_SOURCE_CHARS
#: Include cycles reported per load (each at the include that closes it); one more error counts the rest.
MAX_CYCLES_SHOWN = 3
#: Includes past ``MAX_INCLUDE_DEPTH`` reported per load; one more error counts the rest.
MAX_DEEP_SHOWN = 3


@dataclass
class Loaded:
    """The files of one pipeline, included files before their includer, with their depth.

    That order is the declaration order (ties in the lowered order follow it) and
    the merge order (a later file's trainer keys win).
    """

    files: list[tuple[ast.File, int]] = field(default_factory=list)
    sources: Sources = field(default_factory=Sources)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: An included file could not be read or parsed: names it declares are missing.
    incomplete: bool = False
    #: Characters read so far, all files together (checked against ``MAX_PIPELINE_CHARS``).
    chars: int = 0


def find_root(path: Path) -> Path:
    """The project root of ``path``: see ``hookpipe.fileaccess.project_root``."""
    return project_root(path)


def load_text(text: str, display: str) -> Loaded:
    """A pipeline given as text; includes are refused (there is no folder to resolve them in)."""
    loaded = Loaded()
    loaded.sources.texts[display] = text
    result = parse_text(text, display)
    loaded.diagnostics += result.diagnostics
    if result.file is not None:
        loaded.files.append((result.file, 0))
        for item in result.file.items:
            if isinstance(item, ast.Include):
                loaded.diagnostics.append(
                    Diagnostic("HP010", "error", f"cannot include `{item.path}` from text", item.span,
                               help="compile the file from disk (compile_file) to use includes")
                )
    return loaded


class SourceFiles(Protocol):
    """Where a pipeline's files come from: the disk (:class:`DiskFiles`) or elsewhere.

    ``hookpipe diff --git REF`` reads a file and its includes as they were at a
    git revision (``hookpipe.revision.Revision``) through the same loader, so
    includes, cycles and the project root are handled once. Both methods raise
    ``hookpipe.fileaccess.Refused`` for a file they will not read.
    """

    def resolve(self, path: Path) -> Path:
        """Which file ``path`` is (symlinks followed): the key of "read once" and of the root check."""

    def read(self, path: Path, real: Path, root: Path | None) -> str:
        """The text of ``path`` (resolved: ``real``), inside ``root`` unless it is None."""


class DiskFiles:
    """The working tree, read through ``hookpipe.fileaccess`` (the default)."""

    def resolve(self, path: Path) -> Path:
        return resolve(path)

    def read(self, path: Path, real: Path, root: Path | None) -> str:
        return read_source(path if root is not None else real, root)


DISK = DiskFiles()

#: Resolved path -> text to read instead of the file (an editor's unsaved buffers).
Overlay = Mapping[Path, str]
#: ``parse_text`` or a drop-in for it (``ParseCache.parse``, which re-parses only changed items).
Parse = Callable[[str, str], ParseResult]


def load_file(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
              allow_outside_root: bool = False, overlay: Overlay | None = None,
              parse: Parse = parse_text, files: SourceFiles = DISK) -> Loaded:
    """Read ``path`` and its includes; a file that cannot be read is a diagnostic, never an exception.

    Every file, the main one included, is read through ``hookpipe.fileaccess``:
    inside the root (unless allowed), regular, within the size limit.

    Args:
        overlay: text for some files, by resolved path, read instead of the disk.
        parse: the parser to use, e.g. a ``ParseCache``'s ``parse`` for an editor.
        files: where files are read from (default: the disk; a git revision for ``diff --git``).
    """
    main = Path(path)
    loaded = Loaded()
    root_dir = Path(root).resolve() if root is not None else find_root(main)
    reader = _Reader(loaded, root_dir, allow_outside_root, overlay or {}, parse, files)
    _load(main, display_name(path), 0, set(), reader, None)
    _report_cycles(reader)
    _report_deep(reader)
    return loaded


@dataclass
class _Reader:
    """What every file of one load shares: where to read, the root, the parser."""

    loaded: Loaded
    root: Path
    allow_outside: bool
    overlay: Overlay
    parse: Parse
    files: SourceFiles
    #: Include path (as joined to its includer's folder) -> the file it is, or why not: once per load.
    resolved: dict[Path, Path | Refused] = field(default_factory=dict)
    #: (folder as reached, folder resolved, include path) -> where it leads (``_target``): once per load.
    targets: dict[tuple[str, str, str], _Target] = field(default_factory=dict)
    #: The files being read, outermost first, and each one's place in it (the cycle check).
    stack: list[Path] = field(default_factory=list)
    on_stack: dict[Path, int] = field(default_factory=dict)  # -> its place in ``stack``
    #: Each file read -> the file whose include read it (None for the main file): the walk's tree,
    #: from which a cycle's chain is rebuilt when it is reported.
    parent: dict[Path, Path | None] = field(default_factory=dict)
    #: The includes that close a cycle, in the order met: (the include, its file, the file on the stack it
    #: names, how many files the cycle has).
    closing: list[tuple[ast.Include, Path, Path, int]] = field(default_factory=list)
    #: Which of ``closing`` name the main file.
    through_main: list[int] = field(default_factory=list)
    #: The includes not followed for nesting past ``MAX_INCLUDE_DEPTH``, in the order met.
    deep: list[ast.Include] = field(default_factory=list)

    def resolve(self, path: Path) -> Path:
        """``files.resolve(path)``, remembered: a path included from many files is resolved once."""
        found = self.resolved.get(path)
        if found is None:
            try:
                found = self.files.resolve(path)
            except Refused as refused:
                found = refused
            self.resolved[path] = found
        if isinstance(found, Refused):
            raise found
        return found


def _load(path: Path, display: str, depth: int, seen: set[Path], reader: _Reader,
          origin: ast.Include | None) -> None:
    loaded, root, allow_outside, overlay, parse = (reader.loaded, reader.root, reader.allow_outside,
                                                   reader.overlay, reader.parse)
    files = reader.files
    try:
        real = reader.resolve(path)
        text = overlay[real] if real in overlay else files.read(path, real, None if allow_outside else root)
    except Refused as refused:
        unsaved = _unresolved(path)
        if refused.kind == "missing" and unsaved in overlay:  # an editor's buffer not yet saved
            real, text = unsaved, overlay[unsaved]
        else:
            loaded.incomplete = True
            loaded.diagnostics.append(_refusal(refused, display, root, origin))
            return
    seen.add(real)
    loaded.chars += len(text)
    if origin is not None and loaded.chars > MAX_PIPELINE_CHARS:
        loaded.incomplete = True
        loaded.diagnostics.append(_too_much(origin, loaded.chars))
        return
    loaded.sources.texts[display] = text
    result = parse(text, display)
    loaded.diagnostics += result.diagnostics
    if result.file is None:
        loaded.incomplete = True
        return
    reader.parent.setdefault(real, reader.stack[-1] if reader.stack else None)
    reader.stack.append(real)
    reader.on_stack[real] = len(reader.stack) - 1
    here = (os.fspath(path.parent), os.fspath(real.parent))
    try:
        for item in result.file.items:
            if isinstance(item, ast.Include):
                _include(path, display, depth, item, seen, reader, here)
    finally:
        reader.stack.pop()
        reader.on_stack.pop(real, None)
    loaded.files.append((result.file, depth))


@dataclass(frozen=True)
class _Target:
    """Where one include path leads from one folder, before the walk's state (stack, files read) is asked."""

    path: Path  # as joined to the includer's folder
    real: Path  # the file it is (as far as it resolves, when refused)
    #: Why it is not followed, reported before the cycle check (outside by its text, missing, unreadable).
    refused: Refused | None
    #: Resolves outside the root: reported after the cycle check.
    outside: bool


def _target(reader: _Reader, folder: Path, real_folder: Path, included: str) -> _Target:
    """What ``include "included"`` in a file of ``folder`` (really ``real_folder``) leads to: once per load."""
    root, allow = reader.root, reader.allow_outside
    target = folder / included
    outside = Refused("outside", "", "outside")
    # Outside the root by its text alone (from the including file's real folder): refused before the
    # disk is asked, so "leaves the project root" and "was not found" cannot tell a pull request which
    # files exist on the machine that runs the check.
    if not allow and not inside(Path(os.path.normpath(real_folder / included)), root):
        return _Target(target, target, outside, True)
    try:
        target_real = reader.resolve(target)
    except Refused as refused:
        target_real = _unresolved(target)
        if refused.kind == "missing" and not allow and not inside(target_real, root):
            refused = outside  # a link inside pointing out: the same answer whether its target exists
        if not (refused.kind == "missing" and target_real in reader.overlay):
            return _Target(target, target_real, refused, False)
    return _Target(target, target_real, None, not allow and not inside(target_real, root))


def _include(path: Path, display: str, depth: int, item: ast.Include, seen: set[Path], reader: _Reader,
             here: tuple[str, str]) -> None:
    """Follow one ``include`` of the file ``path`` (at ``depth``), or say why not.

    ``here`` names the file's folder as reached and as resolved: with the include
    path, the key of ``_target``'s answer, so a path included from many files of one
    folder is joined, normalised and checked against the root once per load (a
    folder of 60 files that all include one another has 3,540 include lines per
    pipeline, and doing that work for each took a third of a second per pipeline).
    The cycle check is a dict lookup and a file already read is skipped before its
    display name is built: a file can hold hundreds of thousands of include lines.
    """
    loaded, root = reader.loaded, reader.root
    key = (*here, item.path)
    found = reader.targets.get(key)
    if found is None:
        found = reader.targets[key] = _target(reader, path.parent, reader.stack[-1].parent, item.path)

    def shown() -> str:
        return display_name(os.path.normpath(os.path.join(os.path.dirname(display), item.path)))

    if found.refused is not None:
        loaded.incomplete = True
        loaded.diagnostics.append(_refusal(found.refused, shown(), root, item))
        return
    place = reader.on_stack.get(found.real)
    if place is not None:  # reported once the load is done (``_report_cycles``)
        reader.closing.append((item, reader.stack[-1], found.real, len(reader.stack) - place))
        if not place:
            reader.through_main.append(len(reader.closing) - 1)
        return
    if found.outside:
        loaded.incomplete = True
        loaded.diagnostics.append(_refusal(Refused("outside", "", "outside"), shown(), root, item))
        return
    if found.real in seen:
        return
    if depth + 1 > MAX_INCLUDE_DEPTH:
        loaded.incomplete = True
        reader.deep.append(item)
        return
    _load(found.path, shown(), depth + 1, seen, reader, item)


def _chain(reader: _Reader, last: Path, first: Path) -> list[Path]:
    """The files from ``first`` down to ``last`` through the walk's tree (``first`` is an ancestor of ``last``)."""
    chain = [last]
    while chain[-1] != first:
        above = reader.parent.get(chain[-1])
        if above is None:  # not an ancestor after all: the chain as far as it goes
            break
        chain.append(above)
    chain.reverse()
    return chain


def _names(files: list[Path]) -> str:
    return " -> ".join(display_name(p.name) for p in files)


def _report_cycles(reader: _Reader) -> None:
    """HP010 for the first ``MAX_CYCLES_SHOWN`` includes that close a cycle, and one counting the rest.

    The shortest cycle through the main file comes first, so every file of a set
    that includes one another, linted on its own, names a cycle it is on; the
    rest follow in the order met. Each costs the length of its chain.
    """
    closing = reader.closing
    if not closing:
        return
    main = next(iter(reader.parent))  # the first file read
    order = list(range(len(closing)))
    if reader.through_main:
        best = min(reader.through_main, key=lambda i: closing[i][3])  # the shortest
        order.remove(best)
        order.insert(0, best)
    for i in order[:MAX_CYCLES_SHOWN]:
        item, closer, target, _ = closing[i]
        chain = _chain(reader, closer, target)
        notes: tuple[Note, ...] = ()
        if target != main:
            notes = (Note(f"reached from `{_names([main])}`: {_names(_chain(reader, target, main))}"),)
        reader.loaded.diagnostics.append(Diagnostic(
            "HP010", "error", f"include cycle: {_names([*chain, target])}", item.span, notes=notes,
            help="remove one of the includes; shared parts belong in a third file"))
    left = order[MAX_CYCLES_SHOWN:]
    if left:
        item = closing[min(left)][0]
        reader.loaded.diagnostics.append(Diagnostic(
            "HP010", "error", f"{len(left):,} more include statements close include cycles in `{_names([main])}` "
            "and the files it includes (the first of them is here)", item.span,
            help="break the cycles reported and run again; shared parts belong in a third file"))


def _report_deep(reader: _Reader) -> None:
    """HP010 for the first ``MAX_DEEP_SHOWN`` includes not followed for nesting too deep, and one counting the rest."""
    for item in reader.deep[:MAX_DEEP_SHOWN]:
        reader.loaded.diagnostics.append(Diagnostic(
            "HP010", "error", f"includes nest more than {MAX_INCLUDE_DEPTH} files deep", item.span,
            help="flatten the include chain: include the shared files from one place"))
    left = len(reader.deep) - MAX_DEEP_SHOWN
    if left > 0:
        reader.loaded.diagnostics.append(Diagnostic(
            "HP010", "error", f"{left:,} more includes nest more than {MAX_INCLUDE_DEPTH} files deep in "
            f"`{_names([next(iter(reader.parent))])}` and the files it includes (the first of them is here)",
            reader.deep[MAX_DEEP_SHOWN].span,
            help="flatten the include chain: include the shared files from one place"))


def _too_much(origin: ast.Include, chars: int) -> Diagnostic:
    """HP010 at the include that takes the pipeline past ``MAX_PIPELINE_CHARS``."""
    return Diagnostic(
        "HP010", "error", f"including `{display_name(origin.path)}` makes the pipeline {chars / 2**20:.1f} MiB of "
        f"text with its includes; the limit is {MAX_PIPELINE_CHARS // 2**20} MiB", origin.span,
        help="include fewer or smaller files (a pipeline and all it includes are read as one)")


def _unresolved(path: Path) -> Path:
    """``path`` made absolute, symlinks followed as far as they exist."""
    try:
        return Path(os.path.abspath(path)).resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def _refusal(refused: Refused, display: str, root: Path, origin: ast.Include | None) -> Diagnostic:
    """The diagnostic for a file that was not read: at the include, or at line 1 of a named file."""
    if origin is None:
        code = "HP001" if refused.kind in ("encoding", "size") else "HP010"
        return Diagnostic(code, "error", f"the file {refused.reason}", Span(display, 1, 1, 1, 1), help=refused.help)
    shown = display_name(origin.path)
    if refused.kind == "outside":
        return Diagnostic(
            "HP010", "error", f"include `{shown}` leaves the project root", origin.span,
            notes=(Note(f"it resolves outside the project root `{display_name(root.name)}`"),),
            help=f"keep included files inside the project root, or set a root that holds them: {ROOT_OPTION}")
    if refused.kind == "missing":
        return Diagnostic("HP010", "error", f"included file `{shown}` was not found", origin.span,
                          help=f"the path is relative to the including file's folder (looked for {display})")
    return Diagnostic("HP010", "error", f"included file `{shown}` {refused.reason}", origin.span, help=refused.help)
