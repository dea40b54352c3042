"""Training progress: the ids hooks see and the position a checkpoint resumes at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookpipe.runtime.args import PipelineHookArgs

__all__ = ["TrainerProgressState"]

_FORMAT = 1


@dataclass
class TrainerProgressState:
    """Epoch/step ids (0-based, as in the seed) plus the optimizer-update count.

    It is registered with ``accelerator.register_for_checkpointing``. A checkpoint is
    written from an ``after`` phase, while the ids still name the step (or epoch) that
    is finishing; ``step_done``/``epoch_done`` record that, so :meth:`state_dict`
    stores the position of the *next* step and a resumed run neither repeats nor
    skips a batch.
    """

    epoch_id: int = 0
    step_id: int = 0
    global_step_id: int = 0
    update_count: int = 0
    step_done: bool = False
    epoch_done: bool = False

    def update_step(self) -> None:
        self.step_id += 1
        self.global_step_id += 1
        self.step_done = False

    def update_epoch(self) -> None:
        self.epoch_id += 1
        self.step_id = 0
        self.epoch_done = False

    def is_training_end(self, max_step: int | None, max_epoch: int | None) -> bool:
        if max_step is not None and self.global_step_id >= max_step:
            return True
        return max_epoch is not None and self.epoch_id >= max_epoch

    def sync_pipeline_hook_arg(self, hook_args: PipelineHookArgs) -> None:
        hook_args.epoch_id = self.epoch_id
        hook_args.step_id = self.step_id
        hook_args.global_step_id = self.global_step_id

    def state_dict(self) -> dict[str, Any]:
        epoch, step, gstep = self.epoch_id, self.step_id, self.global_step_id
        if self.step_done:
            step, gstep = step + 1, gstep + 1
        if self.epoch_done:
            epoch, step = epoch + 1, 0
        return {
            "format": _FORMAT,
            "epoch_id": epoch,
            "step_id": step,
            "global_step_id": gstep,
            "update_count": self.update_count,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != _FORMAT:
            raise ValueError(f"unsupported progress state format {state.get('format')!r}")
        self.epoch_id = int(state["epoch_id"])
        self.step_id = int(state["step_id"])
        self.global_step_id = int(state["global_step_id"])
        self.update_count = int(state["update_count"])
        self.step_done = self.epoch_done = False
