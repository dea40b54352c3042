"""Asynchronous checkpoints: the same files as a synchronous save, written in the background.

Also the ``.pipe`` default of ``average_loss`` (no per-step collective).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.builtins import checkpoint as checkpoint_module
from hookpipe.runtime.checkpoints.resume import MARKER, checkpoint_problem, read_marker
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """pipeline "async"
use h = "tests.runtime.hooklib"

""" + tiny_trainer_text(n=10, max_step=7, seed=0, cpu=True, progress=False,
                        lr_scheduler='"torch.optim.lr_scheduler.StepLR"(step_size = 2)',
                        optimizer='"torch.optim.AdamW"(lr = 0.01)') + """
hook optimize = optimizer()
hook save     = checkpoint(dir = "DIR"ARGS)

loop {
    epoch {
        step {
            after {
                optimize
                save every 3 steps
            }
        }
    }
    after { save }
}
"""


def train(folder: Path, args: str = "") -> HookBasedTrainer:
    trainer = HookBasedTrainer.from_plan(compile_text(PIPE.replace("DIR", str(folder)).replace("ARGS", args),
                                                      "async.pipe"))
    trainer()
    return trainer


def test_an_asynchronous_save_writes_the_same_bytes_as_save_state(tmp_path: Path) -> None:
    train(tmp_path / "async")
    train(tmp_path / "sync", ", asynchronous = false")
    for step in ("step-00000003", "step-00000006", "step-00000007"):
        fast, slow = tmp_path / "async" / step, tmp_path / "sync" / step
        assert checkpoint_problem(fast) is None and checkpoint_problem(slow) is None
        names = sorted(p.name for p in slow.iterdir())
        assert sorted(p.name for p in fast.iterdir()) == names
        assert "optimizer.bin" in names and "model.safetensors" in names and "random_states_0.pkl" in names
        for name in names:
            if name.endswith((".bin", ".pkl")):  # torch.save's zip names its folder after a path, "archive" for a stream
                assert_same(torch.load(fast / name, weights_only=False), torch.load(slow / name, weights_only=False))
            elif name.startswith(("hookpipe-state", "hookpipe-plan")):  # these name the two runs' folders
                a, b = (p.read_text().replace(str(p.parent.parent), "DIR") for p in (fast / name, slow / name))
                assert a.replace(", asynchronous = false", "") == b.replace(", asynchronous = false", "") or \
                    name.startswith("hookpipe-plan"), (step, name)
            elif name != MARKER:
                assert (fast / name).read_bytes() == (slow / name).read_bytes(), (step, name)
        # The checksums taken while writing are those of the files as they lie on disk.
        assert checkpoint_problem(fast) is None
        assert read_marker(fast)["files"]["model.safetensors"] == read_marker(slow)["files"]["model.safetensors"]


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif type(a).__module__ == "numpy":
        import numpy as np

        assert np.array_equal(a, b)
    else:
        assert a == b


def test_the_write_runs_in_a_background_thread_while_the_loop_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = checkpoint_module.write_host_file
    seen: list[tuple[str, bool, int]] = []
    release = threading.Event()
    trainer_ref: list[Any] = []

    def slow_write(folder: Path, item: Any) -> Any:
        if "step-00000003" in folder.name and item.name == "model.safetensors":
            # Hold the first save until the loop has gone on past it (or give up after 20 s).
            release.wait(20)
        progress = trainer_ref[0].trainer_progress_state.global_step_id if trainer_ref else -1
        seen.append((folder.name, threading.current_thread() is threading.main_thread(), progress))
        return original(folder, item)

    monkeypatch.setattr(checkpoint_module, "write_host_file", slow_write)
    original_save = checkpoint_module.CheckpointHook.save

    def save_then_release(self: Any, args: Any, completed: int, callback: Any = None) -> Path:
        if completed == 6:  # the next save: the loop went on to step 6 while the first write was held
            release.set()
        return original_save(self, args, completed, callback)

    # Patched before the trainer is built: the compiled phases bind the hook's methods then.
    monkeypatch.setattr(checkpoint_module.CheckpointHook, "save", save_then_release)
    text = PIPE.replace("DIR", str(tmp_path)).replace("ARGS", "")
    trainer = HookBasedTrainer.from_plan(compile_text(text, "async.pipe"))
    trainer_ref.append(trainer)
    trainer()
    assert not any(main for _, main, _ in seen), "a file was written by the loop's thread"
    held = [progress for name, _, progress in seen if "step-00000003" in name]
    assert max(held) >= 4, f"the loop did not go on during the background write: {held}"
    assert checkpoint_problem(tmp_path / "step-00000003") is None
    assert checkpoint_problem(tmp_path / "step-00000007") is None  # the run ended after its last save


def test_a_failed_background_write_stops_the_run_with_its_reason_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(folder: Path, item: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_module, "write_host_file", full_disk)
    from hookpipe.runtime.errors import HookFailure

    # Reported by the next save (the loop went on meanwhile), naming the hook and the checkpoint.
    with pytest.raises(HookFailure, match=r"hook 'save' failed .*the checkpoint .*step-00000003 could not be "
                                          r"written: OSError: .*No space"):
        train(tmp_path)
    assert not list(tmp_path.glob("step-*"))


MEAN_PIPE = """pipeline "mean"
use h = "tests.runtime.hooklib"
use l = "tests.runtime.losslib"

""" + tiny_trainer_text(n=4, max_step=1, cpu=True, progress=False, batch_processor="l.MeanSquared(ARGS)") + """
hook optimize = optimizer()
loop { epoch { step { after { optimize } } } }
"""


@pytest.mark.parametrize(("args", "expected"), [("", False), ("average_loss = true", True),
                                                 ("average_loss = false", False)])
def test_pipe_runs_average_the_loss_only_where_the_file_asks(args: str, expected: bool) -> None:
    trainer = HookBasedTrainer.from_plan(compile_text(MEAN_PIPE.replace("ARGS", args), "mean.pipe"))
    assert trainer.batch_processor.average_loss is expected


def test_the_seed_api_keeps_the_seeds_default() -> None:
    from tests.runtime.losslib import MeanSquared

    assert MeanSquared().average_loss is True
