"""Best checkpoints: ranking by a monitored metric, what to keep, the ``best`` pointer.

A checkpoint written by ``checkpoint(..., monitor = "evaluate.loss", mode =
"min")`` records in its marker the monitored value when the monitored hook's
newest result is from the same completed step (the weights evaluated are the
weights saved); a checkpoint without such a value is not ranked. The markers are
the one source of the ranking: ``keep_best`` keeps the best ranked folders beside
the ``keep_last`` newest, ``--resume best`` picks the first of them that verifies
(like ``--resume latest``, a damaged one is skipped with its reason), and the
``best`` symbolic link in the checkpoint folder (for people and tools; replaced
atomically) points at it. Ties go to the earlier checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hookpipe.fileio import replace_symlink
from hookpipe.runtime.checkpoints.resume import checkpoint_problem, complete_checkpoints, version_folders
from hookpipe.runtime.tracking.monitor import monitored_value

__all__ = ["POINTER", "best_checkpoint", "best_verified", "monitor_record", "ranked", "update_pointer"]

POINTER = "best"


def monitor_record(instances: Any, monitor: str, mode: str, completed_steps: int) -> dict[str, Any] | None:
    """The marker entry for a checkpoint after ``completed_steps``, or None when it cannot be ranked."""
    found = monitored_value(instances, monitor)
    if found is None or found[1] != completed_steps:
        return None
    return {"name": monitor, "mode": mode, "value": found[2]}


def _scored(directory: str | os.PathLike[str], monitor: str | None, version: int = 0) -> list[tuple[Any, ...]]:
    scored = []
    for step, path, marker in complete_checkpoints(directory):
        record = marker.get("monitor")
        if not isinstance(record, dict) or (monitor is not None and record.get("name") != monitor):
            continue
        value = float(record["value"])
        scored.append(((value if record.get("mode") == "min" else -value), version, step, path))
    return scored


def ranked(directory: str | os.PathLike[str], monitor: str | None = None, versions: bool = False) -> list[Path]:
    """Complete checkpoints with a monitored value, best first (for ``monitor``, if given).

    With ``versions``, those of the folder's version sub-folders too (other runs', see
    :mod:`.versions`), as ``--resume best`` ranks them.
    """
    folders = version_folders(directory) if versions else [(0, Path(directory))]
    scored = [item for version, folder in folders for item in _scored(folder, monitor, version)]
    return [item[-1] for item in sorted(scored, key=lambda item: item[:3])]


def best_checkpoint(directory: str | os.PathLike[str], monitor: str | None = None) -> Path | None:
    """The best ranked checkpoint under ``directory`` that verifies, if any.

    Example:
        >>> best_checkpoint("runs/cnn/checkpoints")  # doctest: +SKIP
        PosixPath('runs/cnn/checkpoints/step-00000720')
    """
    return best_verified(directory, monitor)[0]


def best_verified(directory: str | os.PathLike[str],
                  monitor: str | None = None) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The best ranked checkpoint whose files match its marker's checksums, and the
    better-ranked ones skipped with why (``--resume best``'s answer, as
    ``newest_verified`` is ``--resume latest``'s)."""
    skipped: list[tuple[Path, str]] = []
    for folder in ranked(directory, monitor, versions=True):
        reason = checkpoint_problem(folder)
        if reason is None:
            return folder, skipped
        skipped.append((folder, reason))
    return None, skipped


def update_pointer(directory: Path, monitor: str | None) -> None:
    """Point ``directory/best`` at the best checkpoint (a relative symlink, swapped in by rename).

    Ranked by the markers alone: hashing every kept checkpoint on each save would cost
    more than the save; ``--resume best`` verifies before it loads.
    """
    order = ranked(directory, monitor)
    best = order[0] if order else None
    link = directory / POINTER
    if best is None:
        if link.is_symlink():
            link.unlink()
        return
    replace_symlink(link, best.name)
