"""``hookpipe init [DIR]``: write a starter project that checks, lints and trains as written.

Never overwrites: when any of the files exists (a dangling symlink included),
nothing is written and the command says which (exit 2); each file is created
with ``O_EXCL`` (``fileio.write_new``), so nothing made meanwhile is replaced either.
A ``DIR`` below a file (``init afile/sub``) is a usage error (exit 2). The project
name is the folder's name.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from pathlib import Path

from hookpipe.commands.common import say, usage_error
from hookpipe.fileio import OutputError, write_new


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("init", help="write a starter project (a .pipe, its Python module, pyproject.toml)")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the project folder (default: here)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from hookpipe.starter import FILES, read

    folder = Path(args.dir)
    blocker = _not_a_folder(folder)
    if blocker is not None:
        return usage_error(f"{blocker}: not a folder (hookpipe init DIR makes DIR, and needs the folders above it "
                           "to be folders)")
    # lexists: a dangling symlink exists too, and writing "through" it would create its target
    existing = [name for name, _ in FILES if os.path.lexists(folder / name)]
    if existing:
        return usage_error(f"{folder}: {', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                           "nothing was written (choose an empty folder: hookpipe init DIR)")
    name = _project_name(folder)
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file, template in FILES:
            write_new(folder / file, read(template, name))
            written.append(folder / file)
    except OSError as exc:  # OutputError/TargetRefused say which file; a race with another writer
        for path in written:  # all or nothing: never a half-made project
            path.unlink(missing_ok=True)
        return usage_error(str(exc) if isinstance(exc, OutputError) else f"{folder}: {exc.strerror or exc}")
    where = "" if args.dir == "." else f"cd {shlex.quote(str(folder))} && "  # a line to paste into a shell
    say(f"wrote {', '.join(f for f, _ in FILES)} into {folder}")
    say(f"next: {where}hookpipe check train.pipe && hookpipe lint . && hookpipe run train.pipe")
    return 0


def _not_a_folder(folder: Path) -> Path | None:
    """``folder`` or the first of its parents that exists and is not a folder (``init afile/sub``)."""
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            return None if candidate.is_dir() else candidate
    return None


def _project_name(folder: Path) -> str:
    """The folder's name with every run of characters other than letters, digits, ``-`` and ``_`` as one ``-``.

    Letters of any script are kept (``\\w``: a project called ``früh`` stays so); the
    name goes into the pipeline's string and the checkpoint folder's name.
    """
    raw = folder.resolve().name or "project"
    name = re.sub(r"[^\w-]+", "-", raw).strip("-")
    return name or "project"
