"""``hookpipe diff BASE HEAD`` and ``hookpipe diff --git REF [PATH...]``: what a change does to the plans.

Both sides are compiled (never imported: this is as safe on an untrusted pull
request as ``lint``) and compared by ``hookpipe.compiler.plan_diff``; with
``--git`` the REF side of every file, includes too, is read from git by
``hookpipe.revision`` without a checkout. A file another compared file includes
is not compared on its own (as ``lint`` skips such fragments): its changes show
under every file that includes it. See docs/diff.md.

Exit status: 0 whether or not something changed; with ``--exit-code`` 1 when a
plan changed, a file was added or removed, or a side does not compile; 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from hookpipe.commands.common import usage_error
from hookpipe.fileaccess import display_name, inside

if TYPE_CHECKING:
    from hookpipe.compiler.context import Compilation
    from hookpipe.compiler.plan_diff import FileDiff
    from hookpipe.diagnostics import Diagnostic
    from hookpipe.lint.runner import SharedParses
    from hookpipe.revision import Revision

FORMATS = ("text", "markdown", "json")


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("diff", help="what a change does to the plans: hooks added, removed, moved, re-timed",
                       description="Compare two pipelines' plans (after includes, merging and lowering), "
                                   "or every .pipe file with the same file at a git revision.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="BASE HEAD (two .pipe files, or two folders compared file by file), or with --git "
                        "the files and folders to compare (default: the current folder)")
    p.add_argument("--git", metavar="REF", help="compare the working tree with the git revision REF")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 when a plan changed or a side fails to compile (like git diff --exit-code)")
    p.add_argument("--root",
                   help="project root includes may not leave (default: the folder with pyproject.toml or .git)")
    p.set_defaults(handler=main)


@dataclass
class Labels:
    """What the two sides are called in the output."""

    base: str
    head: str


def main(args: argparse.Namespace) -> int:
    from hookpipe.lint.config import ConfigError

    try:
        if args.git is not None:
            found = _git_mode(args.git, args.paths or ["."], args.root)
        else:
            if len(args.paths) != 2:
                return usage_error("diff needs two files, BASE HEAD, or --git REF [PATH...]")
            found = _file_mode(args.paths[0], args.paths[1], args.root)
    except ConfigError as exc:
        return usage_error(str(exc))
    if isinstance(found, int):
        return found
    labels, diffs = found
    from hookpipe.commands.diff_formats import render

    sys.stdout.write(render(args.format, diffs, labels.base, labels.head))
    if args.exit_code and any(d.plan_changed for d in diffs):
        return 1
    return 0


def _file_mode(base: str, head: str, root: str | None) -> tuple[Labels, list[FileDiff]] | int:
    """Two files, or two folders compared file by file (by path below each folder)."""
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.lint.discover import discover

    for path in (base, head):
        if "\0" in path or not os.path.lexists(path):
            return usage_error(f"{display_name(path)}: no such file or folder")
    folders = [os.path.isdir(p) for p in (base, head)]
    if folders[0] != folders[1]:
        return usage_error("diff compares two files or two folders, not a file with a folder "
                           "(for a file at a git revision: --git REF FILE)")
    labels = Labels(display_name(base), display_name(head))
    if not folders[0]:
        name = head if os.path.basename(base) == os.path.basename(head) else f"{base} -> {head}"
        return labels, [_compare(name, compile_path(base, root=root), compile_path(head, root=root))]
    from hookpipe.lint.runner import SharedParses

    parses = SharedParses()  # a file the others include is parsed once, not once per includer
    sides: list[dict[str, Compilation]] = []
    for folder in (base, head):
        sides.append({Path(os.path.relpath(t.path, folder)).as_posix(): compile_path(t.path, root=root,
                                                                                     parse=parses.parse)
                      for t in discover([folder])})
    return labels, _pairs(sorted({*sides[0], *sides[1]}), sides[0], sides[1])


def _git_mode(ref: str, paths: Sequence[str], root: str | None) -> tuple[Labels, list[FileDiff]] | int:
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.lint.discover import MissingPath, discover
    from hookpipe.revision import Revision, RevisionError

    try:
        revision = Revision(ref)
    except RevisionError as exc:
        return usage_error(str(exc))
    found: dict[str, str] = {}  # key (absolute, normalised) -> display path
    for raw in paths:
        if "\0" in raw or not inside(Path(os.path.realpath(raw)), revision.top):
            return usage_error(f"{display_name(raw)} is outside the repository at {display_name(str(revision.top))}")
        on_disk = os.path.lexists(raw)
        if not on_disk and not (revision.has_file(raw) or revision.has_folder(raw)):
            return usage_error(f"{display_name(raw)}: no such file or folder here or at {display_name(ref)}")
        if on_disk:
            try:
                for target in discover([raw]):
                    found.setdefault(_key(target.path), _shown(target.path))
            except MissingPath as exc:
                return usage_error(str(exc))
        for absolute in revision.pipe_files([raw]):
            found.setdefault(_key(absolute), _shown(absolute))
    names = sorted(found.values())
    from hookpipe.lint.runner import SharedParses

    parses = SharedParses()  # a file the others include is parsed once per side, not once per includer
    head = {shown: compile_path(shown, root=root, parse=parses.parse) for shown in names if os.path.lexists(shown)}
    base = {shown: ctx for shown in names if (ctx := _at_revision(shown, root, revision, parses)) is not None}
    return Labels(display_name(ref), "working tree"), _pairs(names, base, head)


def _pairs(names: list[str], base: dict[str, Compilation], head: dict[str, Compilation]) -> list[FileDiff]:
    """Each file's comparison, fragments (files another one includes) left to their includers."""
    fragments = {"base": _fragments(base), "head": _fragments(head)}
    out = []
    for name in names:
        present = [side for side, files in (("base", base), ("head", head)) if name in files]
        if present and all(name in fragments[side] for side in present):
            continue  # its changes show under every file that includes it
        out.append(_compare(name, base.get(name), head.get(name)))
    return out


def _compare(name: str, base: Compilation | None, head: Compilation | None) -> FileDiff:
    from hookpipe.compiler.plan_diff import diff_compilations

    return diff_compilations(display_name(name), base, head, _lint(base), _lint(head))


def _at_revision(shown: str, root: str | None, revision: Revision, parses: SharedParses) -> Compilation | None:
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.fileaccess import project_root

    if not revision.has_file(shown):
        return None
    return compile_path(shown, root=root if root is not None else project_root(shown), files=revision,
                        parse=parses.parse)


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normpath(os.path.abspath(path))


def _shown(path: str | os.PathLike[str]) -> str:
    """The path as the user will recognise it: relative to the current folder when below it."""
    absolute = _key(path)
    relative = os.path.relpath(absolute)
    return Path(relative).as_posix() if not relative.startswith("..") else Path(absolute).as_posix()


def _fragments(side: dict[str, Compilation]) -> set[str]:
    """Names of files another compared file includes (and that do not include it back)."""
    main = {name: _key(ctx.main) for name, ctx in side.items()}
    includes = {name: {_key(f.path) for f, depth in ctx.files if depth > 0} for name, ctx in side.items()}
    return {name for name in side
            if any(other != name and main[name] in includes[other] and main[other] not in includes[name]
                   for other in side)}


def _lint(ctx: Compilation | None) -> list[Diagnostic]:
    """The lint findings of a clean compilation (none for one with errors: those are reported as errors)."""
    if ctx is None or ctx.plan is None or any(d.severity == "error" for d in ctx.diagnostics):
        return []
    from hookpipe.lint.runner import lint_compilation

    return lint_compilation(ctx).diagnostics
