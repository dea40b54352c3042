"""Which files a lint run reads: named files, and ``*.pipe`` under named folders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from hookpipe.fileaccess import display_name

#: Folders never searched: tool caches and environments are not the project's pipelines.
_SKIP = {"__pycache__", "node_modules", "site-packages"}


class MissingPath(FileNotFoundError):
    """A path on the command line that does not exist: a usage error (exit 2)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A file to lint, by the path the user will recognise (as given, or found under a folder)."""

    path: str


def discover(paths: Sequence[str]) -> list[Target]:
    """Files named, and ``*.pipe`` files below named folders (sorted, hidden folders skipped).

    Example:
        >>> [t.path for t in discover(["examples/digits", "examples/finetune.pipe"])]
        ['examples/digits/train.pipe', 'examples/finetune.pipe']
    """
    found: dict[str, Target] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in _walk(path):
                found.setdefault(file, Target(file))
        elif os.path.lexists(raw) and "\0" not in raw:  # a FIFO, a dangling link: the read reports why
            found.setdefault(raw, Target(raw))
        else:
            raise MissingPath(f"{display_name(raw)}: no such file or directory")
    return list(found.values())


def _walk(folder: Path) -> list[str]:
    return sorted(walk_pipe_files(folder))


def walk_pipe_files(folder: Path) -> Iterator[str]:
    """``*.pipe`` files below ``folder``: hidden and tool folders skipped, symlinked folders not entered.

    Iterative (a stack, not recursion): ``os.walk`` recurses on Python 3.11, so a
    pull request with 1,100 nested folders stopped the whole lint with a
    ``RecursionError``. Folders that cannot be listed are skipped, as ``os.walk`` does.
    """
    stack = [os.fspath(folder)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                items = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        below = []
        for entry in items:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if not entry.name.startswith(".") and entry.name not in _SKIP:
                    below.append(entry.path)
            elif entry.name.endswith(".pipe"):
                yield Path(entry.path).as_posix()
        stack.extend(reversed(below))
