"""Reading ``.pipe`` files as they are at a git revision, without checking it out.

``hookpipe diff --git REF`` compares the working tree with REF on an untrusted
pull request, so git is driven the way ``hookpipe.fileaccess`` reads the disk:

- the revision is checked before git sees it (nothing that starts with ``-``, no
  control characters) and then turned into a commit id by ``git rev-parse
  --verify --end-of-options``, so it can never be read as an option; every later
  call names that id;
- git runs with a fixed argument list (no shell): ``rev-parse``, ``ls-tree`` for
  the revision's files with their modes and sizes, ``cat-file blob`` for one
  file's bytes by object id (no path syntax to misread, no text filters);
- paths stay inside the repository: a symlink in the revision is followed only
  while it points inside it, a submodule or a folder is refused, and a file over
  ``fileaccess.MAX_SOURCE_BYTES`` is refused unread (its size comes from ``ls-tree``).

A :class:`Revision` is a ``hookpipe.compiler.loader.SourceFiles``: the compiler
reads a file and its includes from it exactly as it reads them from disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Sequence

from hookpipe.fileaccess import MAX_SOURCE_BYTES, Refused, decode_source, display_name, inside, too_large

#: Longest revision accepted: branch names and expressions like ``origin/main~3`` are short.
MAX_REVISION = 256
#: Symlinks followed one after another before giving up (as the kernel's ELOOP).
MAX_LINKS = 40
#: Seconds a git call may take: reading a tree or a small blob is instant.
GIT_TIMEOUT = 120
#: Folders never searched for ``*.pipe`` files (as ``hookpipe lint`` skips them).
SKIP_FOLDERS = frozenset({"__pycache__", "node_modules", "site-packages"})


class RevisionError(Exception):
    """The revision cannot be read (not a repository, an unknown or unsafe revision): a usage error."""


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One path of the revision's tree, as ``git ls-tree -l`` lists it."""

    mode: str
    kind: str  # "blob", "tree" (never listed by -r), "commit" (a submodule)
    object: str
    size: int | None


def check_revision(revision: str) -> str:
    """``revision`` if git may be given it; a RevisionError says why not.

    Example:
        >>> check_revision("HEAD~1")
        'HEAD~1'
    """
    if not revision:
        raise RevisionError("the revision is empty: name a commit, e.g. HEAD~1 or origin/main")
    if revision.startswith("-"):
        raise RevisionError(f"`{display_name(revision[:40])}` is not a revision (it starts with `-`)")
    if len(revision) > MAX_REVISION:
        raise RevisionError(f"the revision is longer than {MAX_REVISION} characters")
    if not revision.isprintable() or any(ch.isspace() for ch in revision):
        raise RevisionError(f"`{display_name(revision[:40])}` is not a revision (it has blanks or control "
                            "characters)")
    return revision


class Revision:
    """The files of one commit of the repository holding ``folder``."""

    def __init__(self, revision: str, folder: str | os.PathLike[str] = ".") -> None:
        self.name = check_revision(revision)
        self._git = shutil.which("git")
        if self._git is None:
            raise RevisionError("git was not found on PATH (--git needs it)")
        self._cwd = Path(folder)
        top = self._run("rev-parse", "--show-toplevel").strip()
        if not top:
            raise RevisionError(f"{display_name(folder)} is not inside a git repository")
        self.top = Path(top).resolve()
        found = self._run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{self.name}^{{commit}}",
                          failure=f"`{display_name(self.name)}` is not a commit of this repository").strip()
        if not found or not all(c in "0123456789abcdef" for c in found):
            raise RevisionError(f"`{display_name(self.name)}` is not a commit of this repository")
        self.commit = found
        self._tree = self._list_tree()

    # --- the loader's SourceFiles -----------------------------------------------------------

    def resolve(self, path: Path) -> Path:
        """The absolute path ``path`` names at the revision, symlinks in it followed while inside."""
        current = self._absolute(path)
        for _ in range(MAX_LINKS):
            entry = self._entry(current)
            if entry is None:
                raise Refused(f"was not found at {display_name(self.name)}", "check the path (it is relative to "
                              "the working tree's layout)", "missing")
            if entry.mode != "120000":
                return current
            target = self._blob(entry, 4096).decode("utf-8", "surrogateescape")
            current = Path(os.path.normpath(current.parent / target))
            if not inside(current, self.top):
                return current  # the caller refuses it: outside the project
        raise Refused(f"is a symlink loop at {display_name(self.name)}", "point the symlink at a real file")

    def read(self, path: Path, real: Path, root: Path | None) -> str:
        """The text of the file ``real`` at the revision, refused outside ``root`` and the repository."""
        if not inside(real, self.top) or (root is not None and not inside(real, root)):
            name = (root or self.top).name
            raise Refused(f"resolves outside the project root `{display_name(name)}`",
                          "keep the files inside the project", "outside")
        entry = self._entry(real)
        if entry is None:
            raise Refused(f"was not found at {display_name(self.name)}", "check the path", "missing")
        if entry.kind == "commit":
            raise Refused("is a submodule, not a regular file", "name a regular file")
        if entry.kind != "blob" or entry.mode == "120000":
            raise Refused("is not a regular file", "name a regular file")
        if entry.size is not None and entry.size > MAX_SOURCE_BYTES:
            raise too_large(MAX_SOURCE_BYTES)
        return decode_source(self._blob(entry, MAX_SOURCE_BYTES))

    # --- finding files ----------------------------------------------------------------------

    def has_file(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` (relative to the current folder) is a file or a symlink at the revision."""
        absolute = self._absolute(Path(path))
        return inside(absolute, self.top) and self._entry(absolute) is not None

    def has_folder(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` is a folder holding files at the revision."""
        absolute = self._absolute(Path(path))
        if not inside(absolute, self.top):
            return False
        if absolute == self.top:
            return True
        prefix = absolute.relative_to(self.top).as_posix() + "/"
        return any(name.startswith(prefix) for name in self._tree)

    def pipe_files(self, paths: Sequence[str]) -> list[Path]:
        """Absolute paths of the ``*.pipe`` files at the revision that ``paths`` name or hold (hidden and
        tool folders skipped, as ``hookpipe lint`` finds files), sorted."""
        found: set[Path] = set()
        for raw in paths:
            absolute = self._absolute(Path(raw))
            if not inside(absolute, self.top):
                continue
            prefix = "" if absolute == self.top else absolute.relative_to(self.top).as_posix()
            for name in self._tree:
                if name == prefix and name.endswith(".pipe"):
                    found.add(absolute)
                elif (not prefix or name.startswith(prefix + "/")) and name.endswith(".pipe"):
                    below = PurePosixPath(name[len(prefix):].lstrip("/")).parts[:-1]
                    if not any(part.startswith(".") or part in SKIP_FOLDERS for part in below):
                        found.add(self.top / name)
        return sorted(found)

    # --- git --------------------------------------------------------------------------------

    def _absolute(self, path: Path) -> Path:
        absolute = Path(os.path.normpath(os.path.abspath(self._cwd / path)))
        if not inside(absolute, self.top):  # the current folder reached through a symlink
            absolute = Path(os.path.normpath(os.path.join(os.path.realpath(self._cwd), path)))
        return absolute

    def _entry(self, absolute: Path) -> TreeEntry | None:
        if not inside(absolute, self.top) or absolute == self.top:
            return None
        return self._tree.get(absolute.relative_to(self.top).as_posix())

    def _list_tree(self) -> dict[str, TreeEntry]:
        out = self._run_bytes("ls-tree", "-r", "-l", "-z", "--full-tree", self.commit)
        tree: dict[str, TreeEntry] = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            head, _, name = record.partition(b"\t")
            fields = head.split()
            if len(fields) != 4:
                continue
            mode, kind, obj, size = (f.decode("ascii", "replace") for f in fields)
            tree[name.decode("utf-8", "surrogateescape")] = TreeEntry(mode, kind, obj,
                                                                      int(size) if size.isdigit() else None)
        return tree

    def _blob(self, entry: TreeEntry, limit: int) -> bytes:
        data = self._run_bytes("cat-file", "blob", entry.object)
        if len(data) > limit:
            raise too_large(limit)
        return data

    def _run(self, *args: str, failure: str | None = None) -> str:
        return self._run_bytes(*args, failure=failure).decode("utf-8", "surrogateescape")

    def _run_bytes(self, *args: str, failure: str | None = None) -> bytes:
        assert self._git is not None
        try:
            done = subprocess.run([self._git, *args], cwd=self._cwd, capture_output=True, timeout=GIT_TIMEOUT,
                                  check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RevisionError(f"git {args[0]} failed: {display_name(str(exc))[:200]}") from exc
        if done.returncode != 0:
            if failure is not None:
                raise RevisionError(failure)
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            first = display_name(message[0][:200]) if message else f"exit status {done.returncode}"
            if args[0] == "rev-parse" and args[1] == "--show-toplevel":
                raise RevisionError(f"{display_name(os.fspath(self._cwd))} is not inside a git repository ({first})")
            raise RevisionError(f"git {args[0]} failed: {first}")
        return done.stdout
