"""The checksum of a checkpoint's files: XXH3-128, with SHA-256 still read.

The marker lists every file with its size and checksum so that a resume finds
a truncated, emptied or altered file before a loader does. The checksum guards
against damage, not against an adversary (whoever can rewrite a file can
rewrite the marker too), so it is chosen for speed: xxHash's XXH3-128 hashes
several GB/s on one core where SHA-256 manages about one, and every byte of
every checkpoint is hashed once on save and once on resume. Markers written
before hookpipe switched list ``sha256``; they are verified with it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Protocol

import xxhash

__all__ = ["CHUNK", "KEY", "Hasher", "digest_file", "expected", "new"]

#: The key of the checksum in a marker's file entry (``{"size": ..., KEY: hex}``).
KEY = "xxh3_128"
#: Older markers' key, still verified.
_LEGACY = "sha256"
#: Bytes read at a time when a file is hashed.
CHUNK = 8 << 20


class Hasher(Protocol):
    def update(self, data: Any, /) -> None: ...

    def hexdigest(self) -> str: ...


def new(algorithm: str = KEY) -> Hasher:
    """A fresh hasher for ``algorithm`` (:data:`KEY` or ``sha256``)."""
    return xxhash.xxh3_128() if algorithm == KEY else hashlib.sha256()


def expected(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(algorithm, hex digest)`` a marker entry records (None: it records neither)."""
    for algorithm in (KEY, _LEGACY):
        value = entry.get(algorithm)
        if isinstance(value, str):
            return algorithm, value
    return None


def digest_file(path: Path, algorithm: str = KEY) -> str:
    """The hex digest of a file's bytes, read in large chunks."""
    h = new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()
