"""Where a run writes: never over, and never pruning, what another run wrote.

A checkpoint hook's ``dir`` and the trainer's ``log_dir`` are names in the
``.pipe`` file, so a second run of the same file (a fresh start, or
``--resume best --set trainer.optimizer.lr=1e-3``) points at the folders the first
one filled. Writing there would replace its ``step-N`` folders (same names, other
weights), prune them under ``keep_last`` and rewrite its ``metrics.csv``.

The rule (``docs/runtime.md``, "Checkpoint folders of several runs"):

* a run that resumes from the **newest** complete checkpoint of a folder, changing
  nothing but its limits (``max_epoch``, ``max_step``), continues that run: it
  writes into the same folder and log folder, and its checkpoints carry the same run
  id (a crash and ``--resume latest``, or training on for longer);
* a run that finds nothing in its checkpoint folder (and no metrics in its log
  folder, which no other live run holds) writes there, as a new run;
* any other run (a fresh run into a used folder, a resume from an older checkpoint
  such as ``best``, from another run's, or with changed settings such as a new
  ``lr``) writes beside it, into the next free version sub-folder ``v1``, ``v2``,
  ... of both the checkpoint folder and the log folder; the run says so when it
  starts.

The process count is the run's, not the file's: a checkpoint resumed on another
number of processes with only the limits changed continues its run too.

A live run holds every folder it writes (:mod:`.place_lock`, ``runtime/run_lock.py``),
so a run started beside it, even before it logged a row or saved a checkpoint,
counts those folders as used and writes into the next version; two runs never
append to one ``metrics.csv`` or save into one folder.

``--resume latest`` reads the highest version that holds a complete checkpoint
(the most recently started run), ``--resume best`` ranks every version's. Pruning
(``keep_last``/``keep_best``) only removes checkpoints whose marker names this
run's id (see :mod:`hookpipe.runtime.builtins.checkpoint`).

RoboOrchard Lab's hooks in a ``.pipe`` file follow the same rule, with one version
number for all of a run's folders. ``SaveModel``'s ``save_root`` gets ``vN``
sub-folders, as a log folder does. ``SaveCheckpoint`` keeps one checkpoint in its
``save_root`` and replaces the whole folder on each save, so its versions lie
*beside* it, ``<save_root>.vN`` (a ``vN`` inside would be swapped away with it);
each version holds one checkpoint, its newest, so resuming any version's
checkpoint with only the limits changed continues that version.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from hookpipe.runtime.checkpoints.resume import (
    VERSION_NAME,
    read_marker,
    swap_folders,
    version_beside,
    version_folders,
    versions_beside,
)
from hookpipe.runtime.run_lock import describe, is_lock_file, live_holder

__all__ = ["RunPlace", "choose_place"]

_STEP = re.compile(r"^step-\d+$")


@dataclass(frozen=True)
class RunPlace:
    """Where this run writes, and who it is."""

    #: The version sub-folder this run writes into (None: the folders as named).
    version: int | None
    #: The id its checkpoints' markers carry; a continued run keeps its checkpoint's.
    run_id: str
    #: What to tell the user when the run starts (None: nothing unusual).
    note: str | None = None
    #: It continues the run of the checkpoint it resumes (same folders, same id): it cannot move elsewhere.
    continued: bool = False

    def folder(self, base: str | Path) -> Path:
        """``base``, or its version sub-folder."""
        return Path(base) if self.version is None else Path(base) / f"v{self.version}"

    def beside(self, save_root: str | Path) -> Path:
        """``save_root`` of a checkpoint kept in one folder, or its version beside it (``<save_root>.vN``)."""
        return Path(save_root) if self.version is None else version_beside(save_root, self.version)


def _checkpoints(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    return sorted((int(p.name[5:]), p) for p in folder.iterdir()
                  if _STEP.match(p.name) and p.is_dir() and isinstance(read_marker(p), dict))


def _used_log_dir(folder: Path) -> bool:
    """Whether a run logged into ``folder`` (its files, not its version sub-folders), or a live one holds it."""
    return folder.is_dir() and (live_holder(folder) is not None or any(
        (p.is_file() and not is_lock_file(p.name)) or (p.is_dir() and not VERSION_NAME.match(p.name))
        for p in folder.iterdir()))


def _held_in_place(folder: Path) -> Path | None:
    """The complete checkpoint a ``SaveCheckpoint`` folder holds: itself, or what an interrupted swap left aside."""
    final, _, old = swap_folders(folder)
    return next((p for p in (final, old) if p.is_dir() and isinstance(read_marker(p), dict)), None)


def _used_in_place(folder: Path) -> bool:
    """Whether a run saved into this ``SaveCheckpoint`` folder (with or without hookpipe's marker), or holds it."""
    final, _, old = swap_folders(folder)
    if final.is_dir():
        return any(not is_lock_file(p.name) for p in final.iterdir()) or old.is_dir() or live_holder(final) is not None
    return final.exists() or old.is_dir()


def _continued(here: Path, ckpt_versions: list[tuple[int, Path]],
               beside: list[list[tuple[int, Path]]]) -> tuple[int, Path] | None:
    """``(version, checkpoint)`` when ``here`` is the newest checkpoint of one of the run's versions."""
    for version, folder in ckpt_versions:
        if folder.resolve() == here.parent:
            newest = _checkpoints(folder)
            if newest and newest[-1][1].resolve() == here:
                return version, here
    for versions in beside:
        for version, folder in versions:
            held = _held_in_place(folder)
            if held is not None and held.resolve() == here:
                return version, here
    return None


def choose_place(checkpoint_dir: str | Path | None, log_dir: str | Path | None,
                 resumed: str | Path | None, changed: bool = False, *,
                 in_place: Sequence[str | Path] = (), exports: Sequence[str | Path] = ()) -> RunPlace:
    """Where a run with these folders, resumed from ``resumed`` (or not), writes (see the module docstring).

    ``changed``: the resumed run changes more than its limits (``max_epoch``,
    ``max_step``), so it is another run even from the newest checkpoint.
    ``in_place``: the ``save_root`` of each ``SaveCheckpoint`` (versions beside it);
    ``exports``: other folders a run fills, such as ``SaveModel``'s (``vN`` inside, as ``log_dir``).
    """
    fresh_id = uuid.uuid4().hex[:12]
    ckpt_versions = version_folders(checkpoint_dir) if checkpoint_dir is not None else []
    beside = [versions_beside(root) for root in in_place]
    if resumed is not None and not changed:
        found = _continued(Path(resumed).resolve(), ckpt_versions, beside)
        if found is not None:  # the newest of its folder: this run goes on
            marker = read_marker(found[1]) or {}
            run_id = marker.get("run")
            return RunPlace(found[0] or None, run_id if isinstance(run_id, str) else fresh_id, continued=True)
    filled = [folder for folder in (log_dir, *exports) if folder is not None]
    filled_versions = [version for folder in filled for version in version_folders(folder)]
    used = (any(_checkpoints(folder) or live_holder(folder) is not None for _, folder in ckpt_versions)
            or any(_used_in_place(folder) for versions in beside for _, folder in versions)
            or any(_used_log_dir(folder) for _, folder in filled_versions))
    if not used:
        return RunPlace(None, fresh_id)
    every = ckpt_versions + [v for versions in beside for v in versions] + filled_versions
    number = max(v for v, _ in every) + 1
    names = ([f"{Path(checkpoint_dir)}/v{number}"] if checkpoint_dir is not None else []) + [
        str(version_beside(root, number)) for root in in_place] + [
        f"{Path(folder)}/v{number}" for folder in (*exports, log_dir) if folder is not None]
    where = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    candidates = [folder for _, folder in every]
    live = next(((folder, holder) for folder in candidates if (holder := live_holder(folder))), None)
    if live is not None:
        return RunPlace(number, fresh_id, (
            f"this run writes to {where}: another run is writing to {live[0]} now ({describe(live[1])}), and "
            "two runs never share a folder, so nothing there is mixed, replaced or pruned "
            "(--resume latest finds the newest version)"))
    if resumed is None:
        why = "it is a new run"
    elif changed:
        why = "it resumes with changed settings"
    elif read_marker(resumed) is None:
        why = "it resumes from a checkpoint without hookpipe's marker (another program's, not this run's)"
    else:
        why = "it resumes from a checkpoint that is not the newest of its folder"
    note = (f"this run writes to {where}: the folders the .pipe file names hold another run's checkpoints or "
            f"logs, and {why}, so nothing there is replaced or pruned (--resume latest finds the newest version)")
    return RunPlace(number, fresh_id, note)
