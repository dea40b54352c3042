"""Run ``hookpipe run`` and SIGKILL the process at a chosen point (kill tests).

``python -m tests.runtime.killrun POINT STEP -- RUN-ARGS...``: POINT is where the
process kills itself at global step STEP (0-based, counted as the run sees it):

* ``step``: as the step starts (nothing of it done);
* ``forward``: inside the model's forward;
* ``after-step``: after the step and all its hooks (checkpoint included);
* ``in-save``: inside a checkpoint write at that step, after accelerate wrote its
  files and with the weights file cut in half (a torn write);
* ``in-background``: inside the background write of the checkpoint at that step
  (asynchronous saves), with the weights file half written and the training
  loop already going on;
* ``before-rename``: with the checkpoint complete in its temporary folder, before
  it is renamed into place;
* ``none``: no kill.

Killing from inside makes the points exact and the tests deterministic.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from hookpipe.runtime.distributed.teardown import exit_process


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str, step: int) -> None:
    from hookpipe.runtime.builtins import checkpoint as checkpoint_module
    from hookpipe.runtime.loop.progress import TrainerProgressState
    from hookpipe.runtime.loop.training_loop import TrainingLoop

    if point in ("step", "forward"):
        original_batches = TrainingLoop._epoch_batches

        def batches_with_kill(self: Any) -> Any:
            # Each batch is drawn just before its step starts.
            for batch in original_batches(self):
                if self.trainer_progress_state.global_step_id == step:
                    if point == "step":
                        _die()
                    model = self.accelerator.unwrap_model(self.model)
                    model.register_forward_hook(lambda *a: _die())
                yield batch

        TrainingLoop._epoch_batches = batches_with_kill  # type: ignore[method-assign]
    elif point == "after-step":
        def set_with_kill(self: Any, name: str, value: Any) -> None:
            # The global step id moves past STEP as soon as the step and all its hooks are
            # done (the fused loop writes the field itself; update_step() does the same).
            object.__setattr__(self, name, value)
            if name == "global_step_id" and value == step + 1:
                _die()

        TrainerProgressState.__setattr__ = set_with_kill  # type: ignore[method-assign,assignment]
    elif point == "in-save":
        from accelerate import Accelerator

        original_save = Accelerator.save_state

        def save_with_kill(self: Any, output_dir: str, **kwargs: Any) -> Any:
            result = original_save(self, output_dir, **kwargs)
            # the temporary folder of that step's save: .tmp-step-N-XXXXXXXX (unique per save)
            if Path(output_dir).name.startswith(f".tmp-step-{step + 1:08d}-"):
                weights = next(Path(output_dir).glob("model*.safetensors"))
                data = weights.read_bytes()
                weights.write_bytes(data[: len(data) // 2])
                _die()
            return result

        Accelerator.save_state = save_with_kill  # type: ignore[method-assign]
    elif point == "in-background":
        import threading
        import time

        original_write = checkpoint_module.write_host_file

        def write_with_kill(folder: Path, item: Any) -> Any:
            if folder.name.startswith(f".tmp-step-{step + 1:08d}-") and item.name.startswith("model"):
                assert threading.current_thread() is not threading.main_thread(), "the save is not in the background"
                time.sleep(0.1)  # the other files are being written beside it
                original_write(folder, item)
                path = folder / item.name
                data = path.read_bytes()
                path.write_bytes(data[: len(data) // 2])
                time.sleep(0.3)  # the loop goes on meanwhile
                _die()
            return original_write(folder, item)

        checkpoint_module.write_host_file = write_with_kill
    elif point == "before-rename":
        original_replace = checkpoint_module._replace_dir

        def replace_with_kill(src: Path, dst: Path) -> None:
            if dst.name == f"step-{step + 1:08d}":
                _die()
            original_replace(src, dst)

        checkpoint_module._replace_dir = replace_with_kill
    elif point != "none":
        raise SystemExit(f"unknown kill point {point!r}")


def main(argv: list[str]) -> int:
    point, step, sep, *rest = argv
    assert sep == "--"
    install(point, int(step))
    from hookpipe.runtime.run import main as run_main

    return run_main(rest)


if __name__ == "__main__":
    exit_process(main(sys.argv[1:]))
