"""``hookpipe diff BASE HEAD`` and ``hookpipe diff --git REF|A..B [PATH...]``: what a change does to the plans.

Both sides are compiled (never imported: this is as safe on an untrusted pull
request as ``lint``) and compared by ``hookpipe.compiler.plan_diff``; with
``--git REF`` the REF side of every file, includes too, is read from git by
``hookpipe.revision`` without a checkout, and with ``--git A..B`` both sides are.
A file another compared file includes is not compared on its own (as ``lint``
skips such fragments): its changes show under every file that includes it, and
with ``--git`` a fragment named alone brings the repository's files that include
it (:func:`_with_includers`). Lint findings are compared only when both sides
compile; otherwise their compile errors are (see :func:`_findings`). A file
removed and one added with the same plan are one file renamed (``git mv``).

With ``--git``, paths are written from the repository's top wherever the command
runs (a pull-request comment must not hold the runner's folders), and a location
on the revision's side reads ``REV:path:line`` (git's name for that file), never
as the working tree's line. See docs/diff.md.

Exit status: 0 whether or not something changed; with ``--exit-code`` 1 when a
plan changed, a file was added or removed (not renamed with its plan unchanged),
or a side does not compile; 2 usage.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from hookpipe.commands.common import add_root_arguments, usage_error
from hookpipe.fileaccess import display_name, inside

if TYPE_CHECKING:
    from hookpipe.commands.diff_formats import Side
    from hookpipe.compiler.context import Compilation
    from hookpipe.compiler.plan_diff import FileDiff, Locate
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
    p.add_argument("--git", metavar="REF",
                   help="compare the working tree with the git revision REF, or with A..B the commit B with "
                        "the commit A (both read from git)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 when a plan changed or a side fails to compile (like git diff --exit-code)")
    add_root_arguments(p, outside=False)
    p.set_defaults(handler=main)


@dataclass
class Labels:
    """What the two sides are called in the output.

    ``base``/``head`` head the report and fill JSON's ``base``/``head``; ``sides``
    name them in sentences (``does not compile in the working tree``).
    """

    base: str
    head: str
    sides: tuple[Side, Side]


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

    sys.stdout.write(render(args.format, diffs, labels.base, labels.head, labels.sides))
    if args.exit_code and any(d.plan_changed for d in diffs):
        return 1
    return 0


def _file_mode(base: str, head: str, root: str | None) -> tuple[Labels, list[FileDiff]] | int:
    """Two files, or two folders compared file by file (by path below each folder)."""
    from hookpipe.commands.diff_formats import file_sides
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.lint.discover import discover

    for path in (base, head):
        if "\0" in path or not os.path.lexists(path):
            return usage_error(f"{display_name(path)}: no such file or folder")
    folders = [os.path.isdir(p) for p in (base, head)]
    if folders[0] != folders[1]:
        return usage_error("diff compares two files or two folders, not a file with a folder "
                           "(for a file at a git revision: --git REF FILE)")
    labels = Labels(display_name(base), display_name(head), file_sides(display_name(base), display_name(head)))
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


def _git_mode(spec: str, paths: Sequence[str], root: str | None) -> tuple[Labels, list[FileDiff]] | int:
    """``--git REF`` (REF against the working tree) or ``--git A..B`` (commit A against commit B)."""
    from hookpipe.lint.runner import SharedParses
    from hookpipe.revision import RevisionError

    try:
        revisions = _revisions(spec)
    except RevisionError as exc:
        return usage_error(str(exc))
    base_revision, head_revision = revisions
    found = _git_names(paths, base_revision, head_revision)
    if isinstance(found, int):
        return found
    whole = any(Path(os.path.realpath(p)) == base_revision.top for p in paths)  # every file is named already
    names = found if whole else _with_includers(found, base_revision, head_revision)
    parses = SharedParses()  # a file the others include is parsed once per side, not once per includer
    if head_revision is None:
        head = _working_tree(names, root, parses)
    else:
        head = _revision_side(names, root, head_revision, parses)
    base = _revision_side(names, root, base_revision, parses)
    locate = _git_locate(base_revision.top, display_name(base_revision.name))
    return _git_labels(base_revision, head_revision), _pairs(list(names), base, head, locate)


def _revisions(spec: str) -> tuple[Revision, Revision | None]:
    """The base revision and, for ``A..B``, the head one (None: the working tree).

    As in git, an empty side of ``..`` is HEAD. ``A...B`` (git's "since the merge
    base") is refused rather than read as ``A`` and ``.B``: name the merge base.
    A ref name cannot hold ``..`` (git-check-ref-format), so splitting on it is safe.
    """
    from hookpipe.revision import Revision, RevisionError

    base, dots, head = spec.partition("..")
    if not dots:
        return Revision(spec), None
    if head.startswith("."):
        raise RevisionError(f"`{display_name(spec[:80])}`: A...B is not supported; compare with the merge base: "
                            "--git \"$(git merge-base A B)..B\"")
    if ".." in head:
        raise RevisionError(f"`{display_name(spec[:80])}` is not a revision or a range A..B")
    return Revision(base or "HEAD"), Revision(head or "HEAD")


def _git_names(paths: Sequence[str], base: Revision, head: Revision | None) -> dict[str, str] | int:
    """The ``.pipe`` files under ``paths`` on either side (or a usage error): each one's name in the report
    (from the repository's top) -> the path it is read by (from the current folder), by name."""
    from hookpipe.lint.discover import MissingPath, discover

    revisions = [base] if head is None else [base, head]
    found: dict[str, str] = {}  # key (absolute, normalised) -> path from the current folder
    for raw in paths:
        if "\0" in raw or not inside(Path(os.path.realpath(raw)), base.top):
            return usage_error(f"{display_name(raw)} is outside the repository at {display_name(str(base.top))}")
        on_disk = head is None and os.path.lexists(raw)  # the working tree is a side only without A..B
        if not on_disk and not any(r.has_file(raw) or r.has_folder(raw) for r in revisions):
            where = "here or at" if head is None else "at"
            named = " or ".join(display_name(r.name) for r in revisions)
            return usage_error(f"{display_name(raw)}: no such file or folder {where} {named}")
        if on_disk:
            try:
                for target in discover([raw]):
                    found.setdefault(_key(target.path), _opened(target.path))
            except MissingPath as exc:
                return usage_error(str(exc))
        for revision in revisions:
            for absolute in revision.pipe_files([raw]):
                found.setdefault(_key(absolute), _opened(absolute))
    return _by_name(found.values(), base.top)


def _by_name(paths: Iterable[str], top: Path) -> dict[str, str]:
    """Each path's name in the report (:func:`_from_top`) -> the path, sorted by name."""
    return dict(sorted((_from_top(path, top), path) for path in paths))


def _working_tree(names: Mapping[str, str], root: str | None, parses: SharedParses) -> dict[str, Compilation]:
    """The files of ``names`` the working tree has, compiled from disk, by name."""
    from hookpipe.compiler.pipeline import compile_path

    return {name: compile_path(path, root=root, parse=parses.parse) for name, path in names.items()
            if os.path.lexists(path)}


def _revision_side(names: Mapping[str, str], root: str | None, revision: Revision,
                   parses: SharedParses) -> dict[str, Compilation]:
    """The files of ``names`` that ``revision`` has, compiled from git (includes too), by name."""
    return {name: ctx for name, path in names.items()
            if (ctx := _at_revision(path, root, revision, parses)) is not None}


# --- fragments named alone: compared through the files that include them -----------------------


def _with_includers(names: dict[str, str], base: Revision, head: Revision | None) -> dict[str, str]:
    """``names`` and every ``.pipe`` file of the repository that includes one of them, directly or not.

    A fragment named alone (``diff --git main configs/common`` when
    ``configs/train.pipe`` includes ``configs/common/hooks.pipe``) compiles without
    the trainer block and the loop of the files that include it: it read "does not
    compile" on both sides and showed nothing of its change. Its includers on
    either side are added, and (as ``lint`` reports a fragment) it is compared
    through them. Includes are read from each file's ``include`` lines (no parse:
    ``hookpipe.lint.fragments.included_paths``), only of the files not named already.
    """
    wanted = {_key(path) for path in names.values()}
    includers: set[str] = set()
    for files, read in _sides_to_scan(base, head):
        includers |= _including(wanted, [f for f in files if f not in wanted], read)
    if not includers:
        return names
    return _by_name([*names.values(), *(_opened(path) for path in includers)], base.top)


def _sides_to_scan(base: Revision, head: Revision | None
                   ) -> list[tuple[list[str], Callable[[str], str | None]]]:
    """Each side's ``.pipe`` files in the repository (absolute, normalised) and how to read one's text."""
    from hookpipe.lint.discover import discover

    def disk(path: str) -> str | None:
        from hookpipe.fileaccess import Refused, read_source

        try:
            return read_source(path)
        except Refused:
            return None

    sides = [(_revision_files(base), _reader(base))]
    if head is None:
        sides.append(([_key(t.path) for t in discover([str(base.top)])], disk))
    else:
        sides.append((_revision_files(head), _reader(head)))
    return sides


def _revision_files(revision: Revision) -> list[str]:
    """The revision's `.pipe` files in the whole repository, absolute and normalised."""
    return [_key(path) for path in revision.pipe_files([str(revision.top)])]


def _reader(revision: Revision) -> Callable[[str], str | None]:
    """A file's text at ``revision``, or None where it cannot be read (a dangling link, too large...)."""
    from hookpipe.fileaccess import Refused
    from hookpipe.revision import RevisionError

    def read(path: str) -> str | None:
        try:
            return revision.read(Path(path), revision.resolve(Path(path)), None)
        except (Refused, RevisionError):
            return None
    return read


def _including(wanted: set[str], files: list[str], read: Callable[[str], str | None]) -> set[str]:
    """The ``files`` that include a file of ``wanted``, directly or through other ``files``."""
    from hookpipe.lint.fragments import included_paths

    included_by: dict[str, set[str]] = {}
    for file in files:
        text = read(file)
        folder = os.path.dirname(file)
        for path in included_paths(text or ""):
            included_by.setdefault(os.path.normpath(os.path.join(folder, path)), set()).add(file)
    found: set[str] = set()
    queue = deque(wanted)
    while queue:
        for includer in included_by.get(queue.popleft(), ()):
            if includer not in found and includer not in wanted:
                found.add(includer)
                queue.append(includer)
    return found


def _git_labels(base: Revision, head: Revision | None) -> Labels:
    """The sides named after what they are: a revision by its name, the working tree as such.

    Not "BASE"/"HEAD": with ``--git HEAD`` git's HEAD is the BASE side, and "HEAD
    side" would name the working tree after the other side's commit.
    """
    from hookpipe.commands.diff_formats import WORKING_TREE, revision_side

    base_name = display_name(base.name)
    if head is None:
        return Labels(base_name, "working tree", (revision_side(base_name), WORKING_TREE))
    head_name = display_name(head.name)
    return Labels(base_name, head_name, (revision_side(base_name), revision_side(head_name)))


def _pairs(names: list[str], base: dict[str, Compilation], head: dict[str, Compilation],
           locate: Locate | None = None) -> list[FileDiff]:
    """Each file's comparison, fragments (files another one includes) left to their includers."""
    fragments = {"base": _fragments(base), "head": _fragments(head)}
    out: dict[str, FileDiff] = {}
    for name in names:
        present = [side for side, files in (("base", base), ("head", head)) if name in files]
        if present and all(name in fragments[side] for side in present):
            continue  # its changes show under every file that includes it
        out[name] = _compare(name, base.get(name), head.get(name), locate)
    _pair_renames(out, base, head, locate)
    return list(out.values())


def _pair_renames(out: dict[str, FileDiff], base: dict[str, Compilation], head: dict[str, Compilation],
                  locate: Locate | None) -> None:
    """A removed file and an added one with the same plan become one file renamed, its plan unchanged.

    ``git mv train.pipe train_v2.pipe`` listed every attachment, hook and setting
    twice, once removed and once added, and failed ``--exit-code``: the training
    loop it runs is the same. Each removed file is paired with the first added
    file (by name) of the same plan hash.
    """
    added: dict[str, list[str]] = {}
    for name, d in out.items():
        if d.status == "added" and d.head_hash is not None:
            added.setdefault(d.head_hash, []).append(name)
    for old, d in list(out.items()):
        same = added.get(d.base_hash) if d.status == "removed" and d.base_hash is not None else None
        if not same:
            continue
        new = same.pop(0)
        renamed = _compare(new, base[old], head[new], locate)
        renamed.renamed_from = display_name(old)
        del out[old]
        out[new] = renamed


def _compare(name: str, base: Compilation | None, head: Compilation | None,
             locate: Locate | None = None) -> FileDiff:
    from hookpipe.compiler.plan_diff import diff_compilations, plain_location

    return diff_compilations(display_name(name), base, head, *_findings(base, head),
                             locate=locate or plain_location)


def _findings(base: Compilation | None, head: Compilation | None) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """What each side's "introduced" and "fixed" findings are compared from.

    Both sides compile: their lint findings. Otherwise their compile errors: a side
    that fails is not linted, so comparing lint then would list the other side's
    warnings as fixed (or introduced) when they were only not computed, and the
    errors that broke the file would count for nothing. A side that compiles has
    no errors, so a change that breaks a file introduces its errors, and one that
    mends it fixes them.
    """
    if _fails(base) or _fails(head):
        return _errors(base), _errors(head)
    return _lint(base), _lint(head)


def _fails(ctx: Compilation | None) -> bool:
    """Whether ``ctx`` is a side that exists and does not compile."""
    return ctx is not None and (ctx.plan is None or any(d.severity == "error" for d in ctx.diagnostics))


def _errors(ctx: Compilation | None) -> list[Diagnostic]:
    return [] if ctx is None else [d for d in ctx.diagnostics if d.severity == "error"]


def _at_revision(shown: str, root: str | None, revision: Revision, parses: SharedParses) -> Compilation | None:
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.fileaccess import project_root

    if not revision.has_file(shown):
        return None
    return compile_path(shown, root=root if root is not None else project_root(shown), files=revision,
                        parse=parses.parse)


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normpath(os.path.abspath(path))


def _opened(path: str | os.PathLike[str]) -> str:
    """The path a file is read by: from the current folder (``../train.pipe`` from a subfolder).

    Relative, so what a compile error quotes of it holds no runner's folder.
    """
    return Path(os.path.relpath(_key(path))).as_posix()


def _from_top(path: str | os.PathLike[str], top: Path) -> str:
    """``path`` from the repository's top, wherever the command runs (as git names files).

    From ``configs/common``, ``..`` named an absolute ``/srv/ci/x/configs/train.pipe``
    while ``.`` at the top named ``configs/train.pipe``: one file, two names, and a
    runner's folders in a pull-request comment. The folder's symlinks are followed
    (the top is the real path), the file's own is not (it is the file named).
    """
    absolute = _key(path)
    real = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    relative = os.path.relpath(real, top)
    return Path(relative if not relative.startswith("..") else absolute).as_posix()


def _git_locate(top: Path, base: str) -> Locate:
    """Locations for ``--git``: from the repository's top, BASE's labelled ``REV:path:line``.

    A removed attachment's line is the revision's: printed as the working tree's
    path, it pointed a reviewer at whatever line holds that number now.
    """
    @functools.lru_cache(maxsize=None)
    def name(file: str) -> str:
        return _from_top(file, top)

    def locate(side: str, file: str, line: int) -> str:
        return f"{base}:{name(file)}:{line}" if side == "base" else f"{name(file)}:{line}"
    return locate


def _fragments(side: dict[str, Compilation]) -> set[str]:
    """Names of files another compared file includes (and that do not include it back)."""
    main = {name: _key(ctx.main) for name, ctx in side.items()}
    includes = {name: {_key(f.path) for f, depth in ctx.files if depth > 0} for name, ctx in side.items()}
    return {name for name in side
            if any(other != name and main[name] in includes[other] and main[other] not in includes[name]
                   for other in side)}


def _lint(ctx: Compilation | None) -> list[Diagnostic]:
    """The lint findings of a clean compilation (none for one with errors: those are reported as errors)."""
    if ctx is None or _fails(ctx):
        return []
    from hookpipe.lint.runner import lint_compilation

    return lint_compilation(ctx).diagnostics
