"""Writing outputs atomically: a reader never sees a half-written file.

The data goes to a temporary file in the target's folder (same filesystem, so the
rename is atomic), is flushed to disk, then replaces the target in one step. On
any failure the temporary file is removed and the old target is left untouched.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``target``; on a clean exit it is renamed onto ``target``.

    Useful when another program (a Graphviz renderer) writes the file itself.

    Example:
        >>> with atomic_path("out.svg") as tmp:  # doctest: +SKIP
        ...     tmp.write_text("<svg/>")
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(target: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``target`` through a temporary file."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
