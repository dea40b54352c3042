"""The ``checkpoint`` built-in: atomic, step-named, resumable accelerate states.

Every process calls ``save_state`` (each writes its own RNG state) into a hidden
temporary folder; the main process then writes the marker and renames the folder
to ``step-<completed steps>``, so a reader never sees half a checkpoint. Resuming
is :class:`~hookpipe.runtime.resume.ResumeCheckpointConfig` (``--resume``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.resume import MARKER, checkpoint_name, latest_checkpoint, read_marker

__all__ = ["CheckpointHook"]


class CheckpointHook:
    """Save the whole training state into ``dir/step-NNNNNNNN``.

    Args:
        dir: Parent folder of the checkpoints (relative to the working directory).
        keep_last: Keep only this many newest checkpoints (None keeps all).
        safe_serialization: Write weights as safetensors.
    """

    effects = {"reads": ("params", "optimizer_state", "lr", "metrics")}

    def __init__(self, dir: str, keep_last: int | None = None, safe_serialization: bool = True) -> None:
        if keep_last is not None and keep_last < 1:
            raise ValueError("keep_last must be at least 1")
        self.dir = Path(dir)
        self.keep_last = keep_last
        self.safe_serialization = safe_serialization
        #: The folder of the newest checkpoint this hook wrote.
        self.last_path: Path | None = None

    def save(self, args: PipelineHookArgs, completed_steps: int) -> Path:
        """Write a checkpoint after ``completed_steps`` steps; return its folder."""
        acc = args.accelerator
        name = checkpoint_name(completed_steps)
        final, tmp = self.dir / name, self.dir / f".tmp-{name}"
        if acc.is_main_process:
            self.dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp), safe_serialization=self.safe_serialization)
        acc.wait_for_everyone()
        if acc.is_main_process:
            marker = {"format": 1, "completed_steps": completed_steps, "epoch_id": args.epoch_id, "time": time.time()}
            (tmp / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
            _replace_dir(tmp, final)
            self._prune()
        acc.wait_for_everyone()
        self.last_path = final
        return final

    def _prune(self) -> None:
        if self.keep_last is None:
            return
        complete = sorted(p for p in self.dir.glob("step-*") if p.is_dir() and read_marker(p) is not None)
        for old in complete[: -self.keep_last]:
            shutil.rmtree(old, ignore_errors=True)

    def latest(self) -> Path | None:
        """The newest complete checkpoint in :attr:`dir` (what ``--resume latest`` uses)."""
        return latest_checkpoint(self.dir)

    # Inside a step the step is not counted yet; at epoch/loop end the ids are synced.
    def on_step_end(self, args: PipelineHookArgs) -> None:
        self.save(args, args.global_step_id + 1)

    def on_epoch_end(self, args: PipelineHookArgs) -> None:
        self.save(args, args.global_step_id)

    def on_loop_end(self, args: PipelineHookArgs) -> None:
        self.save(args, args.global_step_id)


def _replace_dir(src: Path, dst: Path) -> None:
    # rename is atomic; an existing checkpoint of the same step is swapped out first.
    if dst.exists():
        old = dst.with_name(f".old-{dst.name}-{os.getpid()}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
