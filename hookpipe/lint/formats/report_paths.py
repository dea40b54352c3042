"""File names as GitHub reads them: relative to the repository root, whatever the working directory.

GitHub resolves an annotation's ``file=`` and a SARIF result's ``%SRCROOT%``-based
URI against the repository's root. hookpipe prints file names as the user named
them (relative to the working directory), so a workflow step with
``working-directory: sub`` would point GitHub at ``x.pipe`` instead of
``sub/x.pipe``. These two formats therefore rewrite each name relative to the
repository root: the nearest folder holding ``.git`` above the working directory
(or, when the working directory is in no repository, above the first file). The
rewrite is lexical (symlinks are not followed: a file is reported where it was
named). A file outside that root, or any file when there is no repository, keeps
its name relative to the working directory, as before.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` (a folder, or a worktree's file)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


class ReportPaths:
    """Maps the file names of one lint run to names relative to the repository root."""

    def __init__(self, files: Sequence[str], cwd: Path | None = None) -> None:
        self.cwd = Path(os.path.abspath(cwd or os.getcwd()))
        root = repository_root(self.cwd)
        if root is None and files:
            root = repository_root(self.absolute(files[0]).parent)
        #: The folder names are relative to: the repository root, else the working directory.
        self.base = root or self.cwd

    def absolute(self, file: str) -> Path:
        """``file`` (as displayed) made absolute against the working directory, ``..`` folded lexically."""
        return Path(os.path.normpath(os.path.join(self.cwd, file)))

    def relative(self, file: str) -> str | None:
        """``file`` (as displayed) relative to :attr:`base`, in POSIX form; None when it lies outside."""
        if file.startswith("<"):  # not a file name (``<stdin>``-style placeholders)
            return None
        rel = os.path.relpath(self.absolute(file), self.base)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return None
        return PurePosixPath(*Path(rel).parts).as_posix()

    def for_annotation(self, file: str) -> str:
        """The ``file=`` value of a workflow command: root-relative where possible, else as named."""
        return self.relative(file) or file
