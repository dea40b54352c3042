"""The ``checkpoint`` built-in: atomic, step-named, resumable accelerate states.

Every process calls ``save_state`` (each writes its own RNG state) and its
hookpipe state (:mod:`hookpipe.runtime.checkpoints.checkpoint_state`) into a hidden temporary
folder; the main process then writes the marker and renames the folder to
``step-<completed steps>``, so a reader never sees half a checkpoint: a process
killed at any moment leaves either the previous complete checkpoints or the new
one, plus perhaps a hidden ``.tmp-*``/``.old-*`` folder that ``--resume latest``
ignores and the next save removes.

By default the save is asynchronous (:mod:`hookpipe.runtime.checkpoints.async_save`):
the loop waits only for a host copy of the state; a background thread writes it,
hashing while writing, and its last act is the marker and the rename. At most
one save is in flight; the next save, a stop and the end of the run wait for it.
With several processes each rank's thread reports its files in a hidden
``.written-<rank>.json`` (the threads run no collective); the main process's
thread waits for all of them before the marker. ``asynchronous=False`` saves
with ``save_state`` while the loop waits, as before. Resuming is
:class:`~hookpipe.runtime.checkpoints.resume.ResumeCheckpointConfig` (``--resume``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.fileio import replace_folder
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.checkpoints.async_save import (
    AsyncWriter,
    HostFile,
    HostStager,
    Written,
    host_snapshot,
    write_host_file,
)
from hookpipe.runtime.checkpoints.best import monitor_record, ranked, update_pointer
from hookpipe.runtime.checkpoints.checkpoint_files import fsync_dir
from hookpipe.runtime.checkpoints.checkpoint_state import save_grads, snapshot, write_progress, write_state
from hookpipe.runtime.checkpoints.random_state import make_portable
from hookpipe.runtime.checkpoints.resume import checkpoint_name, complete_checkpoints, latest_checkpoint, write_marker
from hookpipe.runtime.checkpoints.resume_changes import write_plan
from hookpipe.runtime.checkpoints.versions import RunPlace

__all__ = ["CheckpointHook"]


class CheckpointHook:
    """Save the whole training state into ``dir/step-NNNNNNNN``.

    Args:
        dir: Parent folder of the checkpoints (relative to the working directory).
        keep_last: Keep only this many newest checkpoints (None keeps all).
        safe_serialization: Write weights as safetensors.
        monitor: ``HOOK.METRIC`` that ranks checkpoints (see :mod:`hookpipe.runtime.checkpoints.best`).
        mode: ``"min"`` or ``"max"``: which values are better.
        keep_best: Also keep this many best-ranked checkpoints when pruning to ``keep_last``.
        asynchronous: Write in a background thread; the loop waits only for a host copy.
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["checkpoint"].effects.to_json()
    #: Its state records which call of the phase wrote it (``Counters.current``),
    #: so a resumed run runs the rest of that phase exactly once.
    records_position = True

    def __init__(self, dir: str, keep_last: int | None = None, safe_serialization: bool = True,
                 monitor: str | None = None, mode: str = "min", keep_best: int | None = None,
                 asynchronous: bool = True) -> None:
        if keep_last is not None and keep_last < 1:
            raise ValueError("keep_last must be at least 1")
        if keep_best is not None and monitor is None:
            raise ValueError("keep_best needs monitor")
        self.dir = Path(dir)
        self.keep_last = keep_last
        self.safe_serialization = safe_serialization
        self.monitor, self.mode, self.keep_best = monitor, mode, keep_best
        #: The folder of the newest checkpoint this hook wrote.
        self.last_path: Path | None = None
        #: The folder being written: what the checkpoint's own state names as the newest.
        self._writing: Path | None = None
        self._trainer: Any = None
        self.asynchronous = asynchronous
        self._writer = AsyncWriter()
        #: The host buffers of the asynchronous saves, kept from one save to the next.
        self._stager = HostStager()
        self._lock: Any = None
        #: The id in this run's markers: pruning removes only checkpoints carrying it (see :meth:`use_place`).
        self.run_id: str | None = None
        #: The version sub-folder this run was given (None: the folder as named); removed at the end if still empty.
        self._version_dir: Path | None = None

    def use_place(self, place: RunPlace) -> None:
        """Write where :func:`~hookpipe.runtime.checkpoints.versions.choose_place` decided, as run ``place.run_id``.

        Called by the trainer before the run starts: a run that does not continue
        the folder's newest checkpoint writes into a version sub-folder, so it never
        replaces or prunes another run's checkpoints.
        """
        self.dir = place.folder(self.dir)
        self.run_id = place.run_id
        self._version_dir = self.dir if place.version is not None else None

    def bind_trainer(self, trainer: Any) -> None:
        """Called by the trainer: the checkpoint also stores the trainer's hookpipe state.

        The main process takes the folder's run lock now, so a second run into the
        same folder is refused before it trains (``runtime/run_lock.py``); ``close``
        releases it when the run ends (``run_file`` and process exit release it too).
        """
        self._trainer = trainer
        accelerator = getattr(trainer, "accelerator", None)
        if accelerator is None or accelerator.is_main_process:
            from hookpipe.runtime.run_lock import RunLock

            self._lock = RunLock(self.dir)
            self._lock.acquire()

    def save(self, args: PipelineHookArgs, completed_steps: int, callback: str | None = None) -> Path:
        """Write a checkpoint after ``completed_steps`` steps; return its folder.

        ``callback`` is the phase callback writing it (None: a stop between steps).
        """
        acc = args.accelerator
        self._writer.wait()  # at most one save in flight; a failed one is reported here
        name = checkpoint_name(completed_steps)
        final = self.dir / name
        tmp = self.dir / _temporary_name(acc, self.dir, name)  # made, leftovers removed, one barrier
        trainer = self._trainer
        files = None
        if self.asynchronous and trainer is not None:
            files = host_snapshot(self._stager, acc, trainer.model, trainer.optimizer, trainer.lr_scheduler,
                                  trainer.dataloader, [trainer.trainer_progress_state], self.safe_serialization)
        if files is None:
            acc.save_state(str(tmp), safe_serialization=self.safe_serialization)
            make_portable(tmp, acc.process_index)  # readable under numpy 1 too (RoboOrchard Lab's)
        else:
            tmp.mkdir(parents=True, exist_ok=True)
            if acc.is_main_process:  # what the trainer's save_state pre-hook writes
                write_progress(tmp, trainer.trainer_progress_state.position())
        if trainer is not None:
            rank = acc.process_index
            ids = (args.epoch_id, args.step_id, args.global_step_id)
            self._writing = final
            try:
                write_state(tmp, rank, *snapshot(trainer, callback, ids), acc.num_processes)
            finally:
                self._writing = None
            save_grads(tmp, rank, acc.unwrap_model(trainer.model))
            if acc.is_main_process and trainer.plan is not None:
                write_plan(tmp, trainer.plan)
        extra: dict[str, Any] = {}
        if acc.is_main_process and self.monitor is not None and trainer is not None:
            record = monitor_record(trainer.hook_instances, self.monitor, self.mode, completed_steps)
            if record is not None:
                extra["monitor"] = record
        if self.run_id is not None:
            extra["run"] = self.run_id
        self.last_path = final
        if files is not None:
            host_files = files
            self._writer.start(str(final), lambda result: self._write_in_background(
                result, host_files, tmp, final, completed_steps, args.epoch_id, extra,
                acc.process_index, acc.num_processes, acc.is_main_process))
            return final
        acc.wait_for_everyone()
        if acc.is_main_process:
            self._complete(tmp, final, completed_steps, args.epoch_id, extra, None)
        acc.wait_for_everyone()
        return final

    def _complete(self, tmp: Path, final: Path, completed_steps: int, epoch_id: int, extra: dict[str, Any],
                  known: dict[str, dict[str, Any]] | None) -> None:
        # The main process, every file written: the marker last, then the rename publishes it.
        write_marker(tmp, completed_steps, epoch_id, known, **extra)
        _replace_dir(tmp, final)
        fsync_dir(self.dir)
        self._prune()
        if self.monitor is not None:
            update_pointer(self.dir, self.monitor)

    def _write_in_background(self, result: Written, files: list[HostFile], tmp: Path, final: Path,
                             completed_steps: int, epoch_id: int, extra: dict[str, Any], rank: int,
                             num_processes: int, main: bool) -> None:
        # In parallel over files (serialising, writing and hashing release the GIL for the bulk).
        with ThreadPoolExecutor(min(4, len(files) or 1), thread_name_prefix="hookpipe-checkpoint") as pool:
            records = list(pool.map(lambda item: write_host_file(tmp, item), files))
        result.files.update((item.name, record) for item, record in zip(files, records))
        if num_processes > 1:
            report = tmp / f"{_WRITTEN}{rank}.json"
            partial = report.with_suffix(".part")
            partial.write_text(json.dumps(result.files), encoding="utf-8")
            os.replace(partial, report)
        if not main:
            return
        known = dict(result.files)
        if num_processes > 1:
            for other in range(1, num_processes):
                known.update(_wait_for_report(tmp / f"{_WRITTEN}{other}.json"))
            for report in tmp.glob(f"{_WRITTEN}*"):
                report.unlink()
        self._complete(tmp, final, completed_steps, epoch_id, extra, known)

    def wait(self) -> None:
        """Block until the save in flight (if any) is complete; raise its error if it failed."""
        self._writer.wait()

    def close(self) -> None:
        """The end of the run (also after an error or a stop): the last save completes, then the
        folder's lock is released (the trainer calls every hook's ``close``)."""
        try:
            self._writer.wait()
        finally:
            self._stager.close()
            if self._lock is not None:
                self._lock.release()
                self._lock = None
                if self._version_dir is not None:
                    # The lock made the run's version folder; a run that saved nothing (a resume that only
                    # ran what its checkpoint had left, a failure before the first save) leaves no empty vN.
                    with contextlib.suppress(OSError):  # it holds this run's checkpoints (or is gone)
                        self._version_dir.rmdir()

    def _prune(self) -> None:
        if self.keep_last is None:
            return
        # Only this run's own: a checkpoint whose marker names another run is never removed
        # (markers of hookpipe before run ids name none; their folder is this run's by choose_place).
        complete = [path for _, path, marker in complete_checkpoints(self.dir)
                    if self.run_id is None or marker.get("run") in (self.run_id, None)]
        keep = set(complete[-self.keep_last:])
        if self.keep_best is not None:
            mine = set(complete)
            keep.update([p for p in ranked(self.dir, self.monitor) if p in mine][: self.keep_best])
        for old in (p for p in complete if p not in keep):
            # Renamed first (atomic), so a kill during the removal leaves no step-* folder
            # with a marker but missing files.
            hidden = old.with_name(f".old-{old.name}-{os.getpid()}")
            os.replace(old, hidden)
            shutil.rmtree(hidden, ignore_errors=True)

    def best(self) -> Path | None:
        """The best-ranked complete checkpoint in :attr:`dir` (what ``--resume best`` uses)."""
        from hookpipe.runtime.checkpoints.best import best_checkpoint

        return best_checkpoint(self.dir, self.monitor) if self.monitor is not None else None

    def latest(self) -> Path | None:
        """The newest complete checkpoint in :attr:`dir` (what ``--resume latest`` uses)."""
        return latest_checkpoint(self.dir)

    def save_on_stop(self, args: PipelineHookArgs) -> Path:
        """The checkpoint of a graceful stop, between steps (ids already count the step)."""
        path = self.save(args, args.global_step_id, None)
        self._writer.wait()  # the stop message names a complete checkpoint
        return path

    def state_dict(self) -> dict[str, Any]:
        newest = self._writing or self.last_path
        return {"last_path": None if newest is None else str(newest)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_path = Path(state["last_path"]) if state.get("last_path") else None

    # Inside a step the step is not counted yet; at epoch/loop end the ids are synced.
    def on_step_end(self, args: PipelineHookArgs) -> None:
        self.save(args, args.global_step_id + 1, "on_step_end")

    def on_epoch_end(self, args: PipelineHookArgs) -> None:
        self.save(args, args.global_step_id, "on_epoch_end")

    def on_loop_end(self, args: PipelineHookArgs) -> None:
        self.save(args, args.global_step_id, "on_loop_end")


def _temporary_name(acc: Any, directory: Path, name: str) -> str:
    """A hidden folder name unique to this save of this run (``.tmp-step-N-XXXXXXXX``), the same on every rank.

    The main process makes it (``mkdtemp``: a name no other writer holds) after
    removing leftovers of interrupted saves, and broadcasts it; every process then
    writes its files into it. The barrier of the broadcast is the one this step had.
    """
    from accelerate.utils import broadcast_object_list

    names: list[str | None] = [None]
    if acc.is_main_process:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(directory)
        made = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=directory))
        os.chmod(made, 0o777 & ~_umask())  # mkdtemp makes it private; a checkpoint keeps the usual mode
        names[0] = made.name
    if acc.num_processes > 1:
        broadcast_object_list(names)
    else:
        acc.wait_for_everyone()
    assert names[0] is not None
    return names[0]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
#: Hidden per-rank reports of a background save's files (with their checksums), read by the main process.
_WRITTEN = ".written-"


def _wait_for_report(path: Path) -> dict[str, dict[str, Any]]:
    # How long the main process's writer waits for another rank's files (a rank that died never reports).
    timeout = float(os.environ.get("HOOKPIPE_CHECKPOINT_WAIT_S", "1800"))
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"another process did not finish writing its files within {timeout:.0f} s "
                               f"(no {path.name}); the previous checkpoint stays the latest")
        time.sleep(0.01)
    data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _remove_leftovers(directory: Path) -> None:
    # Hidden folders of saves that a kill interrupted: never complete, never resumed from.
    for stale in directory.glob(".tmp-step-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in directory.glob(".old-step-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _replace_dir(src: Path, dst: Path) -> None:
    # rename is atomic; an existing checkpoint of the same step is swapped out first.
    replace_folder(src, dst, dst.with_name(f".old-{dst.name}-{os.getpid()}"))
