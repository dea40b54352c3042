"""Reading files a pull request may contain: the one place every command opens its input.

A `.pipe` file, an include, a folder's ``*.pipe`` and ``pyproject.toml`` are all
attacker-controlled on an untrusted pull request. So before a byte is read:

- the path is resolved (symlinks followed) and must lie inside the project root,
  top-level files included, so a committed ``env.pipe -> /proc/self/environ``
  cannot print the CI job's environment, and outside its ``.git`` folder (an
  ``include ".git/config"`` would quote the token ``actions/checkout`` keeps there);
- only a regular file is opened, without blocking (a FIFO or a device would hang
  the job forever), and re-checked after opening, so a swap between the check and
  the open does not help;
- at most ``limit + 1`` bytes are read, so a 1 GiB sparse file costs 4 MiB.

``--root DIR`` moves the root and ``--allow-outside-root`` lifts only the first
rule. Failures are ``Refused``: a sentence that reads well after the file's name,
plus what to do, which callers turn into a diagnostic or a one-line usage error.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hookpipe.escaping import escape

#: Pipelines are a few kilobytes; anything above this is refused unread.
MAX_SOURCE_BYTES = 4 * 1024 * 1024
#: pyproject.toml files are small too; a bigger one is not a project file hookpipe reads.
MAX_CONFIG_BYTES = 1024 * 1024
#: hookpipe's own JSON (checkpoint markers, hook state, plan records, profiles): a plan of
#: 50,000 attachments is about 15 MiB; nothing hookpipe writes comes near this.
MAX_JSON_BYTES = 64 * 1024 * 1024
#: JSON that hookpipe writes nests a few levels (a plan's argument tables a few more).
MAX_JSON_DEPTH = 64

#: The options that choose the project root, with the commands that take them: help texts name
#: them so, since the same refusal is printed by every command (tests/test_lint_root.py checks it).
ROOT_OPTION = "`--root DIR` (check, lint, explain, render, diff)"
OUTSIDE_OPTION = "`--allow-outside-root` (check, lint, explain, render, import)"

#: Kinds of file that are not regular, by their ``stat`` test: named in refusals.
KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


@dataclass
class Refused(Exception):
    """A file hookpipe will not read: ``reason`` follows the file's name in a sentence."""

    reason: str
    help: str
    #: "missing", "outside" (the project root), "unreadable" (loop, kind, I/O), "size", "encoding", "json"
    kind: str = "unreadable"

    def __str__(self) -> str:
        return self.reason


def project_root(path: str | os.PathLike[str]) -> Path:
    """The folder holding pyproject.toml or .git nearest above ``path`` as written, else its folder.

    Computed from the path the user named, not from a symlink's target: a link
    ``env.pipe -> /proc/self/environ`` belongs to the project it sits in.
    """
    start = Path(os.path.abspath(path)).parent
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            return folder.resolve()
    return start.resolve()


def resolve(path: str | os.PathLike[str]) -> Path:
    """``path`` with every symlink followed; ``Refused`` for a loop, a NUL byte or a missing file."""
    if "\0" in os.fspath(path):
        raise Refused("has a NUL byte in its name", "remove the NUL byte from the path")
    try:
        return Path(path).resolve(strict=True)
    except FileNotFoundError as exc:
        raise Refused("was not found", "check the path", "missing") from exc
    except RuntimeError as exc:  # Python < 3.13: "Symlink loop from ..."
        raise Refused("is a symlink loop", "point the symlink at a real file") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused("is a symlink loop", "point the symlink at a real file") from exc
        raise Refused(f"cannot be read ({exc.strerror or exc})", "check the file's permissions") from exc


def inside(real: Path, root: Path) -> bool:
    return real == root or real.is_relative_to(root)


def read_bytes(path: str | os.PathLike[str], root: Path | None, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of a regular file inside ``root`` (None: anywhere), at most ``limit``.

    Raises:
        Refused: outside the root, not a regular file, larger than ``limit``, unreadable.
    """
    real = resolve(path)
    if root is not None and not inside(real, root):
        raise Refused(f"resolves outside the project root `{root.name}`",
                      f"keep the files inside the project root, or set a root that holds them: {ROOT_OPTION}; "
                      f"for trusted input only, {OUTSIDE_OPTION} lifts the rule", "outside")
    if root is not None and any(part.casefold() == ".git" for part in real.relative_to(root).parts):
        # git's own data, not the project's: `.git/config` holds the token `actions/checkout`
        # persists, and a diagnostic quotes the lines of a file that does not parse. Any case:
        # a case-insensitive file system (macOS, Windows runners) opens `.GIT/config` too.
        raise Refused("lies inside the repository's `.git` folder (git's data and credentials, not project files)",
                      "name a file of the project")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a symlink after resolving
            raise Refused("changed while being read", "run the command again") from exc
        kind = _kind(real)
        if kind is not None:
            raise Refused(f"is {kind}, not a regular file", "name a regular file") from exc
        raise Refused(f"cannot be read ({exc.strerror or exc})", "check the file's permissions") from exc
    try:
        info = os.fstat(fd)
        kind = _kind_of(info.st_mode)
        if kind is not None:
            raise Refused(f"is {kind}, not a regular file", "name a regular file")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise Refused(f"cannot be read ({exc.strerror or exc})", "check the file's permissions") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise too_large(limit)
    return data


def too_large(limit: int = MAX_SOURCE_BYTES) -> Refused:
    """The refusal of a file over ``limit`` bytes, wherever it was read from."""
    return Refused(f"is too large (over {_size(limit)}, the limit)", "split it into files joined with `include`",
                   "size")


def read_source(path: str | os.PathLike[str], root: Path | None = None, limit: int = MAX_SOURCE_BYTES) -> str:
    """Text as the parser sees it: UTF-8, a BOM dropped, newlines normalised."""
    return decode_source(read_bytes(path, root, limit))


def decode_source(data: bytes) -> str:
    """Bytes read from anywhere (a file, a git revision) as the parser sees them: see :func:`read_source`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"is not valid UTF-8 (byte {exc.start})", "save the file as UTF-8", "encoding") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_json(path: str | os.PathLike[str], limit: int = MAX_JSON_BYTES, depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON that hookpipe wrote, read back as untrusted: a checkpoint's marker, state, plan record, a profile.

    A checkpoint folder or a profile may come from anywhere (a shared disk, an
    artifact download), so the same rules as for sources apply (regular files only,
    without blocking, at most ``limit`` bytes: a FIFO or a link to ``/dev/zero`` is
    refused, not read forever), and the value may nest at most ``depth`` levels
    (deeper JSON is refused here, not a ``RecursionError`` later).

    Raises:
        Refused: with ``kind`` "missing", "unreadable", "size", "encoding" or "json".
    """
    data = read_bytes(path, None, limit)
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Refused(f"is not valid UTF-8 (byte {exc.start})", "restore the file", "encoding") from exc
    except RecursionError as exc:
        raise Refused(f"nests deeper than {depth} levels", "restore the file", "json") from exc
    except ValueError as exc:
        raise Refused(f"is not a JSON file ({str(exc)[:120]})", "restore the file", "json") from exc
    if _deeper_than(value, depth):
        raise Refused(f"nests deeper than {depth} levels", "restore the file", "json")
    return value


def _deeper_than(value: Any, depth: int) -> bool:
    """Whether ``value`` nests more than ``depth`` lists/tables deep (iteratively)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            if level > depth:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


def display_name(path: str | os.PathLike[str]) -> str:
    """A path as it may be printed: ``hookpipe.escaping.escape`` of its text.

    A file name is attacker-chosen too: a newline in it would start a new line of
    output (a forged diagnostic or CI command), bytes that are not UTF-8 cannot be
    written to a UTF-8 report at all.
    """
    return escape(os.fspath(path))


def _kind(path: Path) -> str | None:
    try:
        return _kind_of(os.stat(path).st_mode)
    except OSError:
        return None


def _kind_of(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    for test, name in KINDS:
        if test(mode):
            return name
    return "a special file"


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit:,} bytes"
