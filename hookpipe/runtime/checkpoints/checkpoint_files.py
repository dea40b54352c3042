"""A checkpoint's files on disk: durable before the rename, verified before a resume.

The completion marker lists every file of the checkpoint with its size and
checksum (:mod:`.checksum`; recorded while the file is written where hookpipe
writes it, see :mod:`.async_save`; other files are hashed once, in parallel). Before the
folder is renamed into place every file (and the folder) is fsynced, so the
rename publishes data that survives a power loss, not only a SIGKILL. A resume
checks the list first: a file that is missing, truncated, emptied or altered
makes the checkpoint damaged, with the reason in one line, instead of a
traceback from deep inside a loader (or, for the RNG state, a
silently different run).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping

from hookpipe.runtime.checkpoints import checksum

__all__ = ["fsync_dir", "fsync_tree", "manifest", "problem"]

#: Files hashed at once (reading and hashing release the GIL on large buffers, so threads run in parallel).
_WORKERS = min(8, os.cpu_count() or 1)


def _inside_name(name: object) -> bool:
    """A marker entry names a file inside its folder: relative, no ``..``, no NUL (``/etc/hostname`` is refused)."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return False
    parts = Path(name).parts
    return not Path(name).is_absolute() and ".." not in parts


def _files(folder: Path, skip: str) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != skip)


def manifest(folder: Path, marker: str,
             known: Mapping[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size": bytes, checksum.KEY: hex}}`` for every file but the marker.

    ``known`` holds records taken while files were written (same size: taken as
    is); every other file is read and hashed, several at once.
    """
    known = known or {}
    paths = {p.relative_to(folder).as_posix(): p for p in _files(folder, marker)}
    out: dict[str, dict[str, Any]] = {}
    todo: list[str] = []
    for name, path in paths.items():
        size = path.stat().st_size
        record = known.get(name)
        if record is not None and record.get("size") == size and checksum.KEY in record:
            out[name] = {"size": size, checksum.KEY: record[checksum.KEY]}
        else:
            todo.append(name)
    with ThreadPoolExecutor(_WORKERS) as pool:
        digests = list(pool.map(lambda n: checksum.digest_file(paths[n]), todo))
    for name, digest in zip(todo, digests):
        out[name] = {"size": paths[name].stat().st_size, checksum.KEY: digest}
    return dict(sorted(out.items()))


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (and it): their data is on disk."""
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    for d in sorted({p.parent for p in folder.rglob("*")} | {folder}):
        fsync_dir(d)


def fsync_dir(folder: Path) -> None:
    """fsync a folder, so the names in it (a rename) are on disk too."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems do not sync folders
        pass
    finally:
        os.close(fd)


def problem(folder: Path, marker: dict[str, Any]) -> str | None:
    """Why ``folder`` does not match its marker's file list (None: it does, or the marker has none).

    Sizes are checked first (cheap); the checksums are then computed in parallel
    over files, and the first mismatch in name order is reported.
    """
    files = marker.get("files")
    if files is None:
        return None  # written before checkpoints listed their files: nothing to compare
    if not isinstance(files, dict):
        return "its marker's file list is malformed"
    real_folder = folder.resolve()
    for name, info in sorted(files.items()):
        if (not isinstance(info, dict) or not isinstance(info.get("size"), int) or not _inside_name(name)
                or checksum.expected(info) is None):
            return (f"its marker's entry for {name!r} is malformed (entries are relative names inside the "
                    "folder, each with a size and a checksum)")
        path = folder / name
        try:
            inside = path.resolve().is_relative_to(real_folder)
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside:  # a link out of the folder: never probed or hashed
            return f"{name} points outside the checkpoint folder"
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != info["size"]:
            return f"{name} is {size:,} bytes, the marker records {info['size']:,} (truncated or replaced)"
    wanted = [(name, expected) for name in sorted(files) if (expected := checksum.expected(files[name])) is not None]
    with ThreadPoolExecutor(_WORKERS) as pool:
        digests = list(pool.map(lambda item: checksum.digest_file(folder / item[0], item[1][0]), wanted))
    for (name, (_, recorded)), digest in zip(wanted, digests):
        if digest != recorded:
            return f"{name} does not match its checksum (altered or corrupt)"
    return None
