"""Training progress: the ids hooks see and the position a checkpoint resumes at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookpipe.compiler.run_values import count_updates
from hookpipe.runtime.args import PipelineHookArgs

__all__ = ["TrainerProgressState"]

_FORMAT = 1


@dataclass
class TrainerProgressState:
    """Epoch/step ids (0-based, as in the seed) plus the optimizer-update count.

    It is registered with ``accelerator.register_for_checkpointing``, and what that
    pickles (:meth:`state_dict`) is the seed's: its three ids as they stand, so
    RoboOrchard Lab 0.4.0 resumes a hookpipe checkpoint (its loader refuses any other
    key). hookpipe's own record sits beside it in the checkpoint folder
    (:meth:`position`, see :mod:`hookpipe.runtime.checkpoints.checkpoint_state`): a checkpoint
    is written from an ``after`` phase, while the ids still name the step (or epoch)
    that is finishing; ``step_done``/``epoch_done`` record that, so the position is
    that of the *next* step and a resumed run neither repeats nor skips a batch.
    """

    epoch_id: int = 0
    step_id: int = 0
    global_step_id: int = 0
    update_count: int = 0
    step_done: bool = False
    epoch_done: bool = False
    #: The last load gave hookpipe's exact position (an old hookpipe checkpoint).
    loaded_position: bool = False

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
        """The seed's progress record (what ``save_state`` pickles)."""
        return {"epoch_id": self.epoch_id, "step_id": self.step_id, "global_step_id": self.global_step_id}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load the seed's record (a checkpoint of hookpipe before 0.2 holds a position instead)."""
        if "format" in state:
            self.load_position(state)
            return
        unknown = set(state) - {"epoch_id", "step_id", "global_step_id"}
        if unknown:
            raise KeyError(f"Key {sorted(unknown)[0]} not found in TrainerProgressState.")
        self.epoch_id = int(state.get("epoch_id", self.epoch_id))
        self.step_id = int(state.get("step_id", self.step_id))
        self.global_step_id = int(state.get("global_step_id", self.global_step_id))
        self.step_done = self.epoch_done = False

    def infer_position(self, accumulation_counter: int, per_epoch: int | None, accumulation: int) -> None:
        """Turn a loaded seed record into the position of the next step.

        The seed saves its ids where its ``SaveCheckpoint`` ran: in ``step.after``
        (the step just finished), ``epoch.after`` (``step_id`` is the epoch's length)
        or ``loop.after`` (the epoch already advanced). accelerate's accumulation
        counter, saved with the state, tells a step apart from a boundary: it is
        ``step_id + 1`` after a step that did not end the epoch and 0 at the
        dataloader's end. Epochs of one batch are ambiguous; they read as a loop end.
        """
        epoch, step, gstep = self.epoch_id, self.step_id, self.global_step_id
        if accumulation_counter == step + 1:  # step.after, inside the epoch
            step, gstep = step + 1, gstep + 1
        elif per_epoch is not None and per_epoch > 1 and step == per_epoch - 1:  # step.after, the epoch's last batch
            epoch, step, gstep = epoch + 1, 0, gstep + 1
        elif step > 0:  # epoch.after
            epoch, step = epoch + 1, 0
        self.epoch_id, self.step_id, self.global_step_id = epoch, step, gstep
        # accelerate's rule (an epoch's last batch also updates), counted where the compiler
        # and the schedule count it; without the loader's length only full windows are known.
        updates = count_updates(gstep, per_epoch, accumulation)
        self.update_count = updates if updates is not None else gstep // max(1, accumulation)
        self.step_done = self.epoch_done = False

    def position(self) -> dict[str, Any]:
        """hookpipe's record: the next step's position and the updates made so far."""
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

    def load_position(self, state: dict[str, Any]) -> None:
        if state.get("format") != _FORMAT:
            raise ValueError(f"unsupported progress state format {state.get('format')!r}")
        self.epoch_id = int(state["epoch_id"])
        self.step_id = int(state["step_id"])
        self.global_step_id = int(state["global_step_id"])
        self.update_count = int(state["update_count"])
        self.step_done = self.epoch_done = False
        self.loaded_position = True
