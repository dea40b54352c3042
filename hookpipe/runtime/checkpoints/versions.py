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
  folder) writes there, as a new run;
* any other run (a fresh run into a used folder, a resume from an older checkpoint
  such as ``best``, from another run's, or with changed settings such as a new
  ``lr``) writes beside it, into the next free version sub-folder ``v1``, ``v2``,
  ... of both the checkpoint folder and the log folder; the run says so when it
  starts.

``--resume latest`` reads the highest version that holds a complete checkpoint
(the most recently started run), ``--resume best`` ranks every version's. Pruning
(``keep_last``/``keep_best``) only removes checkpoints whose marker names this
run's id (see :mod:`hookpipe.runtime.builtins.checkpoint`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from hookpipe.runtime.checkpoints.resume import VERSION_NAME, read_marker, version_folders

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

    def folder(self, base: str | Path) -> Path:
        """``base``, or its version sub-folder."""
        return Path(base) if self.version is None else Path(base) / f"v{self.version}"


def _checkpoints(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    return sorted((int(p.name[5:]), p) for p in folder.iterdir()
                  if _STEP.match(p.name) and p.is_dir() and isinstance(read_marker(p), dict))


def _used_log_dir(folder: Path) -> bool:
    """Whether a run already logged into ``folder`` (its files, not its version sub-folders)."""
    return folder.is_dir() and any(p.is_file() or (p.is_dir() and not VERSION_NAME.match(p.name))
                                   for p in folder.iterdir())


def choose_place(checkpoint_dir: str | Path | None, log_dir: str | Path | None,
                 resumed: str | Path | None, changed: bool = False) -> RunPlace:
    """Where a run with these folders, resumed from ``resumed`` (or not), writes (see the module docstring).

    ``changed``: the resumed run changes more than its limits (``max_epoch``,
    ``max_step``), so it is another run even from the newest checkpoint.
    """
    fresh_id = uuid.uuid4().hex[:12]
    ckpt_versions = version_folders(checkpoint_dir) if checkpoint_dir is not None else []
    if resumed is not None and checkpoint_dir is not None and not changed:
        here = Path(resumed).resolve()
        for version, folder in ckpt_versions:
            if folder.resolve() == here.parent:
                newest = _checkpoints(folder)
                if newest and newest[-1][1].resolve() == here:  # the newest: this run goes on
                    marker = read_marker(here) or {}
                    run_id = marker.get("run")
                    return RunPlace(version or None, run_id if isinstance(run_id, str) else fresh_id)
    used_ckpt = any(_checkpoints(folder) for _, folder in ckpt_versions)
    log_versions = version_folders(log_dir) if log_dir is not None else []
    used_logs = any(_used_log_dir(folder) for _, folder in log_versions)
    if not used_ckpt and not used_logs:
        return RunPlace(None, fresh_id)
    number = max(v for v, _ in ckpt_versions + log_versions) + 1
    where = " and ".join(f"{Path(d)}/v{number}" for d in (checkpoint_dir, log_dir) if d is not None)
    why = ("it is a new run" if resumed is None else "it resumes with changed settings" if changed
           else "it resumes from a checkpoint that is not the newest of its folder")
    note = (f"this run writes to {where}: the folders the .pipe file names hold another run's checkpoints or "
            f"logs, and {why}, so nothing there is replaced or pruned (--resume latest finds the newest version)")
    return RunPlace(number, fresh_id, note)
