"""Checkpoint layout and resuming.

A checkpoint is ``<dir>/step-<completed steps, 8 digits>/``: an accelerate
``save_state`` folder plus ``hookpipe-checkpoint.json``, written into a hidden
temporary folder and renamed into place, so a folder with that name is complete by
construction (the marker is a second check). Resuming loads the state, which brings
back the trainer's progress (epoch, step, update count) and the RNG and
gradient-accumulation counters; the trainer then skips the batches the interrupted
epoch had already used.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from pydantic import Field
from robo_orchard_core.utils.config import Config

from hookpipe.runtime.errors import CheckpointNotFoundError, PlanResolveError
from hookpipe.runtime.run_lock import is_lock_file

__all__ = ["MARKER", "VERSION_NAME", "ResumeCheckpointConfig", "checkpoint_name", "checkpoint_problem",
           "complete_checkpoints", "in_place_verified", "latest_checkpoint", "newest_in_place", "newest_verified",
           "read_marker", "swap_folders", "version_beside", "version_folders", "versions_beside", "write_marker"]

MARKER = "hookpipe-checkpoint.json"
_NAME = re.compile(r"^step-(\d+)$")
#: A version sub-folder of a checkpoint (or log) folder: a later run's (see :mod:`.versions`).
VERSION_NAME = re.compile(r"^v(\d+)$")


def version_folders(base: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(version, folder)`` of ``base`` (version 0) and its ``vN`` sub-folders, oldest first.

    A run that does not continue the newest checkpoint of its folder writes into
    the next ``vN`` (see :mod:`.versions`).
    """
    root = Path(base)
    found = [(0, root)]
    if root.is_dir():
        found += sorted((int(m.group(1)), p) for p in root.iterdir()
                        if (m := VERSION_NAME.match(p.name)) and p.is_dir() and not p.is_symlink())
    return found


def version_beside(save_root: str | os.PathLike[str], number: int) -> Path:
    """``<save_root>.v<number>``: a later run's folder for the seed's ``SaveCheckpoint`` (one checkpoint per folder).

    That hook replaces its whole folder on each save, so a version inside it would be
    taken away by the next swap; it lies beside it instead (see :mod:`.versions`).
    """
    root = Path(save_root)
    return root.with_name(f"{root.name}.v{number}")


def versions_beside(save_root: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(version, folder)`` of ``save_root`` (version 0) and its ``<save_root>.vN`` versions, oldest first.

    A version counts as taken while any of its names is there: an interrupted swap
    can leave only ``<save_root>.vN.old`` (or ``.partial``), and a later run writing
    into that version would remove it.
    """
    root = Path(save_root)
    taken = re.compile(re.escape(root.name) + r"\.v(\d+)(?:\.old|\.partial)?")
    numbers: set[int] = set()
    if root.name and root.parent.is_dir():
        numbers = {int(m.group(1)) for p in root.parent.iterdir()
                   if (m := taken.fullmatch(p.name)) and p.is_dir() and not p.is_symlink()}
    return [(0, root)] + [(n, version_beside(root, n)) for n in sorted(numbers)]


def checkpoint_name(completed_steps: int) -> str:
    """The folder name of a checkpoint taken after ``completed_steps`` steps."""
    return f"step-{completed_steps:08d}"


def read_marker(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The marker of a complete checkpoint folder, or None if it is not one (or it cannot be read safely)."""
    try:
        return marker_or_reason(folder)[0]
    except OSError:
        return None


def marker_or_reason(folder: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, str]:
    """The marker read through ``fileaccess.read_json`` (regular file, size cap, nesting), or why not.

    A FIFO, a link to ``/dev/zero`` or JSON nested thousands deep in a marker's
    place makes the checkpoint damaged (skipped by ``--resume latest``), never a hang
    or a ``RecursionError``.
    """
    from hookpipe.fileaccess import Refused, read_json

    try:
        marker = read_json(Path(folder) / MARKER)
    except Refused as exc:
        return None, f"its {MARKER} {exc.reason}"
    if not isinstance(marker, dict):
        return None, f"its {MARKER} is malformed"
    return marker, ""


def write_marker(folder: Path, completed_steps: int, epoch_id: int,
                 known: dict[str, dict[str, Any]] | None = None, **extra: Any) -> None:
    """Complete ``folder``: the marker listing every file's size and checksum, then all of it fsynced.

    Written by the main process once every process has written its files, and
    before the folder is published by a rename, so the marker means "complete".
    """
    from hookpipe.runtime.checkpoints.checkpoint_files import fsync_tree, manifest

    marker = {"format": 1, "completed_steps": completed_steps, "epoch_id": epoch_id, "time": time.time(),
              "files": manifest(folder, MARKER, known), **extra}
    (folder / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    fsync_tree(folder)  # on disk before it is published: durable against power loss too


def swap_folders(save_root: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """``(final, partial, old)`` of a checkpoint kept in one folder and replaced on each save.

    RoboOrchard Lab's ``SaveCheckpoint`` writes into ``save_root`` itself; hookpipe's
    writes ``<save_root>.partial`` and swaps it in, moving the previous one to
    ``<save_root>.old`` for the moment of the swap. A ``save_root`` that is a link (to
    scratch space, another disk) names the folder it points to: the swap happens
    there and the link stays, and every reader (resume, the choice of versions) looks
    where the writer wrote, a save interrupted mid-swap included.
    """
    final = Path(save_root)
    if final.is_symlink():
        final = Path(os.path.realpath(final))
    return final, final.with_name(final.name + ".partial"), final.with_name(final.name + ".old")


def in_place_verified(save_root: str | os.PathLike[str]) -> tuple[Path | None, list[tuple[Path, str]]]:
    """:func:`newest_verified` for a checkpoint kept in ``save_root`` (the seed's ``SaveCheckpoint``).

    ``save_root`` when it verifies, else the previous checkpoint a save interrupted
    mid-swap left in ``<save_root>.old``; a ``.partial`` folder is never taken (as
    ``.tmp-*`` folders are not). A folder without a marker (written by RoboOrchard
    Lab, or by hookpipe before its ``SaveCheckpoint`` wrote one) cannot be verified
    and is skipped with that reason; ``--resume DIR`` still loads it.
    """
    final, _, old = swap_folders(save_root)
    skipped: list[tuple[Path, str]] = []
    for folder in (final, old):
        if not folder.is_dir() or all(is_lock_file(p.name) for p in folder.iterdir()):
            continue  # nothing saved yet (a live run's, or a killed one's, lock alone)
        reason = checkpoint_problem(folder)
        if reason is None:
            return folder, skipped
        if read_marker(folder) is None and any(folder.glob("random_states_*.pkl")):
            reason = (f"it has no {MARKER}, so it cannot be verified (written by RoboOrchard Lab or an older "
                      f"hookpipe); name it with --resume {folder} to load it unverified")
        skipped.append((folder, reason))
    return None, skipped


def newest_in_place(save_root: str | os.PathLike[str]) -> tuple[Path | None, list[tuple[Path, str]]]:
    """:func:`in_place_verified` over ``save_root``'s versions, newest first (``--resume latest``).

    The highest ``<save_root>.vN`` holding a checkpoint that verifies is the most
    recently started run's; the versions above it that hold none are skipped, saying why.
    """
    skipped: list[tuple[Path, str]] = []
    for _, folder in reversed(versions_beside(save_root)):
        found, passed = in_place_verified(folder)
        skipped += passed
        if found is not None:
            return found, skipped
    return None, skipped


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The newest checkpoint under ``directory`` that verifies, if any.

    Example:
        >>> latest_checkpoint("runs/digits")  # doctest: +SKIP
        PosixPath('runs/digits/step-00000225')
    """
    return newest_verified(directory)[0]


def newest_verified(directory: str | os.PathLike[str]) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest checkpoint that verifies, and the newer ones skipped with why.

    Newest by step count, in the newest version folder that has one (the folder's
    ``vN`` sub-folders hold later runs' checkpoints, see :mod:`.versions`); a folder
    verifies when its marker reads and every file it lists has its recorded size and
    checksum (``checkpoint_problem``).
    """
    root = Path(directory)
    if not root.is_dir():
        return None, []
    found = sorted(((version, int(m.group(1)), p) for version, folder in version_folders(root)
                    for p in folder.iterdir() if (m := _NAME.match(p.name)) and p.is_dir()), reverse=True)
    skipped: list[tuple[Path, str]] = []
    for _, _, folder in found:
        reason = checkpoint_problem(folder)
        if reason is None:
            return folder, skipped
        skipped.append((folder, reason))
    return None, skipped


def checkpoint_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why ``folder`` is not a complete, intact checkpoint (None: it is)."""
    from hookpipe.runtime.checkpoints.checkpoint_files import problem

    marker, reason = marker_or_reason(folder)
    if marker is None:
        if not os.path.lexists(Path(folder) / MARKER):
            return f"it has no readable {MARKER} (not a complete checkpoint)"
        return reason
    return problem(Path(folder), marker)


def complete_checkpoints(directory: str | os.PathLike[str]) -> list[tuple[int, Path, dict[str, Any]]]:
    """``(completed steps, folder, marker)`` of every complete checkpoint, oldest first."""
    root = Path(directory)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _NAME.match(p.name)
        if m and p.is_dir() and not p.is_symlink() and isinstance(marker := read_marker(p), dict):
            found.append((int(m.group(1)), p, marker))
    return sorted(found, key=lambda item: item[0])


class ResumeCheckpointConfig(Config):
    """Where to resume from (the seed's fields)."""

    resume_from: str
    """The checkpoint folder (local, or an fsspec URL copied into ``cache_dir``)."""
    cache_dir: str | None = None
    """Where a remote checkpoint is copied before loading."""
    safe_serialization: bool = True
    """Whether the checkpoint's weights are safetensors (names depend on it)."""
    seed_resume: bool = Field(default=False, repr=False)
    """Resume as RoboOrchard Lab 0.4.0 does (hookpipe only; the seed ignores it).

    The saved ids are taken as they are and the interrupted epoch starts again from
    its first batch, instead of going on at the next batch. For reproducing a run
    made with the seed.
    """

    def local_dir(self) -> str:
        """The checkpoint as a local folder, downloading a remote one first."""
        if "://" not in self.resume_from or self.resume_from.startswith("file://"):
            path = self.resume_from.removeprefix("file://")
            if not os.path.isdir(path):
                raise CheckpointNotFoundError(f"checkpoint folder not found: {path}")
            return path
        import fsspec  # only remote checkpoints need it

        if self.cache_dir is None:
            raise PlanResolveError(f"resuming from {self.resume_from} needs cache_dir")
        target = os.path.join(self.cache_dir, os.path.basename(self.resume_from.rstrip("/")))
        fs, _, paths = fsspec.get_fs_token_paths(self.resume_from)
        fs.get(paths[0], target, recursive=True)
        return target

    def load_state(self, accelerator: Accelerator, **kwargs: Any) -> str:
        """Load the accelerator state (models, optimizers, RNG, registered objects); return the folder.

        Every file is loaded without unpickling arbitrary objects (``weights_only=True``),
        so a checkpoint from an untrusted source cannot run code.
        """
        from hookpipe.runtime.checkpoints.checkpoint_state import load_accelerate_state

        folder = self.local_dir()
        load_accelerate_state(accelerator, folder, **kwargs)
        return folder
