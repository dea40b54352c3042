"""Which files a lint run reads: named files, and ``*.pipe`` under named folders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

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
    out: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP)
        out.extend(Path(root, f).as_posix() for f in sorted(files) if f.endswith(".pipe"))
    return sorted(out)
