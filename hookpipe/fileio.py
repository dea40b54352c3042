"""Writing outputs atomically: a reader never sees a half-written file, folder or link.

The one place hookpipe replaces something on disk in one step (every atomic write
goes through here: outputs of the CLI, the CSV tracker's header, checkpoint folders,
the ``best`` link). A file's data goes to a temporary file in the target's folder
(same filesystem, so the rename is atomic), is flushed to disk, then replaces the
target in one step. On any failure the temporary file is removed and the old target
is left untouched.

An output is written only to a new name or over a regular file. A rename replaces
whatever has the name, so a FIFO, a socket, a device node (``-o /dev/null`` as root
in a CI container) or a symlink (to ``/proc/self/fd/1``, to a file elsewhere) would
silently become a regular file: those are refused (``TargetRefused``, a usage
error), checked before the temporary file is made and again just before the rename.
``write_new`` never replaces anything, a dangling symlink included (``init``).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hookpipe.fileaccess import KINDS as _KINDS
from hookpipe.fileaccess import display_name

__all__ = [
    "OutputError", "TargetRefused", "atomic_path", "replace_folder", "replace_symlink", "write_atomic", "write_new",
]


class OutputError(OSError):
    """An output that could not be written: the message names the file and what to do."""


class TargetRefused(OutputError):
    """An output name hookpipe will not write to (not a regular file, or one that must not exist)."""


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``target``; on a clean exit it is renamed onto ``target``.

    Useful when another program (a Graphviz renderer) writes the file itself.
    Raises ``OutputError`` (a missing folder, a folder in the way, no permission,
    a full disk) and leaves no partial file behind.

    Example:
        >>> with atomic_path("out.svg") as tmp:  # doctest: +SKIP
        ...     tmp.write_text("<svg/>")
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    _check_target(target, folder)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _output_error(target, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        _check_kind(target)  # again: the name may have been swapped while the output was made
        os.replace(tmp, target)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise _output_error(target, exc) from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def _check_target(target: Path, folder: Path) -> None:
    if "\0" in str(target):
        raise OutputError(f"cannot write {target!r}: the path has a NUL byte")
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise OutputError(f"cannot write {display_name(target)}: the folder {display_name(folder)} {what} "
                          "(create it first)")
    _check_kind(target)


def _check_kind(target: Path) -> None:
    """A new name, or a regular file that is not a symlink; anything else is ``TargetRefused``."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _output_error(target, exc) from exc
    if stat.S_ISREG(mode):
        return
    shown = display_name(target)
    if stat.S_ISDIR(mode):
        raise TargetRefused(f"cannot write {shown}: it is a folder (name a file)")
    if stat.S_ISLNK(mode):
        raise TargetRefused(f"cannot write {shown}: it is a symlink; hookpipe writes only to a regular file "
                            "or a new name (remove the link, or name the file it points to)")
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise TargetRefused(f"cannot write {shown}: it is {kind}, not a regular file; hookpipe writes only to a "
                        "regular file or a new name (use -o - for standard output where the command has it)")


def _output_error(target: Path, exc: OSError) -> OutputError:
    shown = display_name(target)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"cannot write {shown}: the disk is full (nothing was written; free space and retry)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"cannot write {shown}: permission denied (the folder is read-only)")
    if exc.errno == errno.EISDIR:
        return OutputError(f"cannot write {shown}: it is a folder (name a file)")
    return OutputError(f"cannot write {shown}: {exc.strerror or exc}")


def write_atomic(target: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``target`` through a temporary file."""
    payload = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)


def replace_folder(new: str | os.PathLike[str], final: str | os.PathLike[str],
                   aside: str | os.PathLike[str]) -> None:
    """Swap the complete folder ``new`` in as ``final``, by renames only.

    The previous ``final`` is renamed to ``aside`` for the moment of the swap and
    then removed, so at every instant ``final`` or ``aside`` is a complete folder (a
    reader recovering from a kill may look in ``aside``). A stale ``aside`` left by
    an earlier kill is removed first.
    """
    new, final, aside = Path(new), Path(final), Path(aside)
    if aside.exists():
        shutil.rmtree(aside)
    if final.exists():
        os.replace(final, aside)
    os.replace(new, final)
    shutil.rmtree(aside, ignore_errors=True)


def replace_symlink(link: str | os.PathLike[str], points_to: str) -> None:
    """Make ``link`` a symbolic link to ``points_to`` (a name relative to its folder), swapped in by rename."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(points_to, tmp)
    os.replace(tmp, link)
def write_new(target: str | os.PathLike[str], data: bytes | str) -> None:
    """Create ``target`` with ``data``; never replace anything that has the name.

    ``O_CREAT | O_EXCL`` fails for any existing name, a dangling symlink included
    (the link is not followed), so what exists is never touched; on a failure
    while writing, the new file is removed.

    Raises:
        TargetRefused: the name exists. OutputError: it could not be written.
    """
    target = Path(target)
    payload = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(target, flags, 0o666)
    except FileExistsError as exc:
        raise TargetRefused(f"cannot write {display_name(target)}: it already exists (nothing was replaced)") \
            from exc
    except OSError as exc:
        raise _output_error(target, exc) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise _output_error(target, exc) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
