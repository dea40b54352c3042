"""One run per checkpoint folder and per log folder: a lock file naming its holder.

A re-queued job can start beside its old self, both writing ``step-*`` folders into
one directory: each removed the other's temporary folders mid-write and pruned the
other's checkpoints. The main process of a run therefore holds
``<dir>/.hookpipe-run.lock`` (created with ``O_EXCL``) for as long as it runs; the
file names the holder (host, pid, start time), and a second run is refused with
that holder in the message. A lock whose holder is gone (same host, the pid no
longer runs) is taken over: renamed aside first (only one contender's rename
succeeds), then created anew. A lock from another host cannot be checked from
here and is never taken over: the message says to delete it once that run is gone.
The same process taking the lock again (a resume inside one Python session) keeps it.

A log folder is held the same way (``trainer.log_dir``, by :mod:`.checkpoints.place_lock`):
two runs appending to one ``metrics.csv`` mix, repeat and lose rows. There a live
holder seldom ends in a refusal: a folder another live run holds counts as used
(:func:`live_holder`), so a new run logs into the next version sub-folder
(:mod:`.checkpoints.versions`); only a run that would continue in it is refused.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from hookpipe.dsl.span import Span
from hookpipe.fileaccess import Refused, read_json
from hookpipe.runtime.errors import PlanResolveError, SettingError

__all__ = ["LOCK_NAME", "FolderInUse", "RunLock", "describe", "is_lock_file", "live_holder", "release_all"]

LOCK_NAME = ".hookpipe-run.lock"
#: The locks this process holds, released together when its run ends (``run_file``) or at exit.
_HELD: list["RunLock"] = []


def release_all() -> None:
    """Release every lock this process holds (the end of ``hookpipe run``, however it ended)."""
    for lock in reversed(_HELD[:]):  # the last taken first: a folder it made may lie in one an earlier made
        lock.release()


class FolderInUse(PlanResolveError):
    """Another live run holds the checkpoint or log folder."""


def is_lock_file(name: str) -> bool:
    """Whether a file name is a run lock (or one set aside while being taken over): not a run's output."""
    return name == LOCK_NAME or name.startswith(f"{LOCK_NAME}.stale-")


def live_holder(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The holder of ``folder``'s lock when it is another process that may still run, else None.

    Read only (a damaged lock is set aside by :meth:`RunLock.acquire`, not here), so
    every process of a run may ask. A holder on another host cannot be checked and
    counts as live, as :meth:`RunLock.acquire` treats it; this process is no other run.
    """
    try:
        holder = read_json(Path(folder) / LOCK_NAME, limit=64 * 1024, depth=2)
    except Refused:
        return None
    if not isinstance(holder, dict):
        return None
    if holder.get("host") != socket.gethostname():
        return holder
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid == os.getpid() or not _alive(pid):
        return None
    return holder


def _holder() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(), "token": uuid.uuid4().hex}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def describe(holder: dict[str, Any]) -> str:
    """``host 'h', pid 123, started 2026-12-07 00:52:12``: who holds a lock, for a message."""
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"host {holder.get('host')!r}, pid {holder.get('pid')}, started {when}"


class RunLock:
    """The lock of one checkpoint (or log) folder, held by this process until :meth:`release` (or exit).

    ``what`` names the folder in messages and ``setting`` the setting that gives a
    run another one; ``remove_if_empty``: :meth:`release` also removes the folder when
    the run left nothing in it (a version folder). A folder the lock itself had to
    make goes the same way: a run that failed before it wrote anything leaves no
    empty ``runs/ckpt`` behind.
    """

    def __init__(self, folder: str | os.PathLike[str], what: str = "checkpoint folder", setting: str = "`dir`",
                 remove_if_empty: bool = False, owner: str | None = None, span: Span | None = None) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.holder: dict[str, Any] | None = None
        self.what, self.setting, self.remove_if_empty = what, setting, remove_if_empty
        #: Where the folder is named (``trainer.log_dir``, ``hook.save.dir``) and the hook's declaration:
        #: a folder that cannot be made is that setting's error (:class:`~hookpipe.runtime.errors.SettingError`).
        self.owner, self.span = owner, span
        #: The folders :meth:`acquire` had to make, the lock's own folder first.
        self.made: list[Path] = []

    def acquire(self) -> None:
        """Hold the folder's lock, or raise ``FolderInUse`` naming the live holder."""
        missing = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission: the setting's error, not a traceback
            _remove_empty(missing)
            raise self.cannot_make(exc) from None
        self.made = missing  # leaf first: removed again, while empty, when the lock goes
        for _ in range(5):  # a lost race with another contender: look again
            try:
                created = self._create()
            except OSError as exc:  # a folder that exists but cannot be written (read-only, another owner's)
                self.release_made()
                raise self.cannot_make(exc) from None
            if created:
                atexit.register(self.release)
                _HELD.append(self)
                return
            current = self._read()
            if current is None:
                continue  # removed meanwhile, or unreadable: replaced below on the next try
            if current.get("host") == socket.gethostname() and current.get("pid") == os.getpid():
                self.holder = current  # this process already holds it
                _HELD.append(self)
                return
            if current.get("host") == socket.gethostname() and isinstance(current.get("pid"), int) \
                    and not _alive(current["pid"]):
                self._take_over(current)
                continue
            raise FolderInUse(
                f"{self.what} {self.path.parent} is in use by another run ({describe(current)}); one run "
                f"per folder: wait for it to finish or give this run another {self.setting}. If that run is gone "
                f"(it ran on another machine), delete {self.path}")
        raise FolderInUse(f"{self.what} {self.path.parent}: could not take its lock {self.path} "
                          "(other runs keep taking it); try again")

    def cannot_make(self, exc: OSError) -> SettingError:
        """The error for a folder this run cannot make or write in (``exc``): which, why, and what to do.

        ``dir = "afile"`` where ``afile`` is a file, ``save_root = "afile/x"``, a read-only
        folder: named by the setting that names the folder, with how to give the run another.
        """
        folder = self.path.parent
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            reason = f"{blocker} is a file, not a folder"
            fix = f"give this run another {self.setting}, or move {blocker} out of the way"
        else:
            reason = exc.strerror or str(exc)
            fix = f"give this run another {self.setting}, or make {folder} writable"
        hook = _hook_of(self.owner)
        where = f"hook '{hook}': " if hook is not None else f"{self.owner}: " if self.owner is not None else ""
        return SettingError(f"{where}cannot create the {self.what} {folder}: {reason}; {fix}",
                            setting=self.owner, span=self.span)

    def release_made(self) -> None:
        """Remove the folders :meth:`acquire` made, while they are empty (it failed before writing anything)."""
        _remove_empty(self.made)
        self.made = []

    def release(self) -> None:
        """Remove the lock if it is still this process's."""
        if self.holder is None:
            return
        current = self._read()
        if current is not None and current.get("token") == self.holder.get("token"):
            self.path.unlink(missing_ok=True)
        self.holder = None
        handles = [self, *(lock for lock in _HELD if lock.path == self.path and lock is not self)]
        for lock in handles:  # one file: every handle on it
            lock.holder = None
            if lock in _HELD:
                _HELD.remove(lock)
        made = max((lock.made for lock in handles), key=len)
        if any(lock.remove_if_empty for lock in handles) and not made:
            made = [self.path.parent]
        for folder in made:  # each holds what the run wrote (or is gone): then it and those above stay
            try:
                folder.rmdir()
            except OSError:
                break

    def _create(self) -> bool:
        holder = _holder()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(holder, handle)
        self.holder = holder
        return True

    def _read(self) -> dict[str, Any] | None:
        try:
            data = read_json(self.path, limit=64 * 1024, depth=2)
        except Refused as exc:
            if exc.kind == "missing":
                return None
            # Not a lock hookpipe wrote (a FIFO, garbage): set aside, never trusted or read again.
            self._set_aside()
            return None
        return data if isinstance(data, dict) else {}

    def _take_over(self, stale: dict[str, Any]) -> None:
        """Set a dead holder's lock aside; put it back if a live one was renamed instead (a race)."""
        aside = self._set_aside()
        if aside is None:
            return
        try:
            moved = read_json(aside, limit=64 * 1024, depth=2)
        except Refused:
            moved = None
        if isinstance(moved, dict) and moved.get("token") != stale.get("token"):
            try:  # a contender's fresh lock: give it back (link fails if the name is taken again)
                os.link(aside, self.path)
            except OSError:
                pass
        aside.unlink(missing_ok=True)

    def _set_aside(self) -> Path | None:
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return None
        return aside


def _hook_of(owner: str | None) -> str | None:
    """``save`` for the setting ``hook.save.dir``; None for a trainer setting or none."""
    if owner is None or not owner.startswith("hook."):
        return None
    return owner.split(".")[1]


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (leaf first) while they are empty; stop at the first that is not.

    One that was never made (a ``mkdir`` that failed half-way) is passed over.
    """
    for folder in folders:
        try:
            folder.rmdir()
        except FileNotFoundError:
            continue
        except OSError:
            break
