"""A checkpoint's files on disk: durable before the rename, verified before a resume.

The completion marker lists every file of the checkpoint with its size and
SHA-256. Before the folder is renamed into place every file (and the folder) is
fsynced, so the rename publishes data that survives a power loss, not only a
SIGKILL. A resume checks the list first: a file that is missing, truncated,
emptied or altered makes the checkpoint damaged, with the reason in one line,
instead of a traceback from deep inside a loader (or, for the RNG state, a
silently different run).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

__all__ = ["fsync_dir", "fsync_tree", "manifest", "problem"]

_CHUNK = 1 << 20


def _inside_name(name: object) -> bool:
    """A marker entry names a file inside its folder: relative, no ``..``, no NUL (``/etc/hostname`` is refused)."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return False
    parts = Path(name).parts
    return not Path(name).is_absolute() and ".." not in parts


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _files(folder: Path, skip: str) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != skip)


def manifest(folder: Path, marker: str) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size": bytes, "sha256": hex}}`` for every file but the marker."""
    return {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": _digest(p)}
            for p in _files(folder, marker)}


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
    """Why ``folder`` does not match its marker's file list (None: it does, or the marker has none)."""
    files = marker.get("files")
    if files is None:
        return None  # written before checkpoints listed their files: nothing to compare
    if not isinstance(files, dict):
        return "its marker's file list is malformed"
    real_folder = folder.resolve()
    for name, info in sorted(files.items()):
        if not isinstance(info, dict) or not isinstance(info.get("size"), int) or not _inside_name(name):
            return f"its marker's entry for {name!r} is malformed (entries are relative names inside the folder)"
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
        if _digest(path) != info.get("sha256"):
            return f"{name} does not match its checksum (altered or corrupt)"
    return None
