"""The main process of a run holds its log folder from the moment it chooses it.

Two runs started together with one ``log_dir`` (each with its own checkpoint
``dir``) both found the log folder empty, both chose it, and both appended to one
``metrics.csv``: rows of the two runs mixed, repeated and lost. Choosing a folder
(:func:`~.versions.choose_place`) and holding it (:class:`~hookpipe.runtime.run_lock.RunLock`)
are therefore one step here: the main process takes the chosen log folder's lock
before the trackers are made. A folder another live run holds counts as used, so a
new run chooses the next version; a run that lost the race between choosing and
taking the lock chooses again, now seeing it held. Only a run that continues the
run of its checkpoint, and so cannot log anywhere else, is refused
(:class:`~hookpipe.runtime.run_lock.FolderInUse`, naming the holder), as the
checkpoint folder's lock refuses a second run into one folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from hookpipe.runtime.checkpoints.versions import RunPlace
from hookpipe.runtime.run_lock import FolderInUse, RunLock

__all__ = ["hold_log_folder", "launched_as_main"]

#: Choices made again after losing the race for a version folder to another run.
_TRIES = 5


def launched_as_main() -> bool:
    """Whether this is the main process of its launch, known before the ``Accelerator`` exists.

    Every launcher (``accelerate launch``, torchrun, ``--processes``) sets ``RANK``;
    a plain process has none and is the main one.
    """
    return os.environ.get("RANK", "0") in ("0", "")


def hold_log_folder(choose: Callable[[], RunPlace], log_dir: str | Path) -> tuple[RunPlace, RunLock]:
    """Where the run writes (``choose()``), with its log folder held by this process.

    Raises ``FolderInUse`` when the run continues in a log folder another live run
    holds, or when other runs keep taking every version it chooses.
    """
    for _ in range(_TRIES):
        place = choose()
        lock = RunLock(place.folder(log_dir), what="log folder",
                       setting="`log_dir` (--set trainer.log_dir=...)", remove_if_empty=place.version is not None)
        try:
            lock.acquire()
        except FolderInUse:
            if place.continued:
                raise
            continue  # taken since it was chosen: chosen again, it counts as used
        return place, lock
    raise FolderInUse(f"log folder {log_dir}: other runs took each version this run chose; try again")
