"""The main process of a run holds every folder it writes from the moment it chooses them.

Two runs started together with one ``log_dir`` (each with its own checkpoint
``dir``) both found the log folder empty, both chose it, and both appended to one
``metrics.csv``: rows of the two runs mixed, repeated and lost. The same held for
RoboOrchard Lab's ``SaveCheckpoint`` and ``SaveModel`` in a ``.pipe`` file: two runs
started together both found ``save_root`` empty, and each removed the other's
half-written ``<save_root>.partial``. Choosing the folders
(:func:`~.versions.choose_place`) and holding them (:class:`~hookpipe.runtime.run_lock.RunLock`)
are therefore one step here: the main process takes the lock of every folder the
run will write (the log folder, the built-in checkpoint's ``dir``, each seed hook's
``save_root``) before anything is built. A folder another live run holds counts as
used, so a new run chooses the next version; a run that lost the race between
choosing and taking a lock lets go of what it took and chooses again, now seeing it
held. Only a run that continues the run of its checkpoint, and so cannot write
anywhere else, is refused (:class:`~hookpipe.runtime.run_lock.FolderInUse`, naming
the holder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

from hookpipe.runtime.checkpoints.versions import RunPlace
from hookpipe.runtime.run_lock import FolderInUse, RunLock

__all__ = ["hold_folders", "launched_as_main", "log_lock"]

#: Choices made again after losing the race for a version folder to another run.
_TRIES = 5


def launched_as_main() -> bool:
    """Whether this is the main process of its launch, known before the ``Accelerator`` exists.

    Every launcher (``accelerate launch``, torchrun, ``--processes``) sets ``RANK``;
    a plain process has none and is the main one.
    """
    return os.environ.get("RANK", "0") in ("0", "")


def hold_folders(choose: Callable[[], RunPlace],
                 locks_of: Callable[[RunPlace], Sequence[RunLock]]) -> tuple[RunPlace, list[RunLock]]:
    """Where the run writes (``choose()``), with the folders ``locks_of(place)`` names held by this process.

    Raises ``FolderInUse`` when the run continues in a folder another live run
    holds, or when other runs keep taking every version it chooses.
    """
    for _ in range(_TRIES):
        place = choose()
        held: list[RunLock] = []
        try:
            for lock in locks_of(place):
                lock.acquire()
                held.append(lock)
        except BaseException as exc:
            for lock in reversed(held):  # the last taken first (a folder it made may lie in one made earlier)
                lock.release()
            if not isinstance(exc, FolderInUse) or place.continued:
                raise
            continue  # taken since it was chosen: chosen again, it counts as used
        return place, held
    raise FolderInUse("other runs took each version of the run's folders this run chose; try again")


def log_lock(place: RunPlace, log_dir: str | Path) -> RunLock:
    """The lock of the run's log folder (a version folder it made goes when the run leaves it empty)."""
    return RunLock(place.folder(log_dir), what="log folder", setting="`log_dir` (--set trainer.log_dir=...)",
                   remove_if_empty=place.version is not None)
