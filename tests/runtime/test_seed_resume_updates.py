"""Resuming a RoboOrchard Lab checkpoint counts optimizer updates as the uninterrupted run does.

2 epochs of 5 batches with accumulation 2 make 6 updates (after batches 2, 4 and 5 of
each epoch: accelerate's end-of-epoch sync), not 10 // 2 = 5; a resumed run that
counted 5 would fire ``every 2 updates`` one update off in every later epoch.
"""

from __future__ import annotations

from pathlib import Path

import hookpipe
from hookpipe.compiler.run_values import count_updates
from hookpipe.runtime import HookBasedTrainer, ResumeCheckpointConfig
from hookpipe.runtime.loop.progress import TrainerProgressState
from tests.runtime import hooklib
from tests.runtime.planbuild import tiny_trainer_text


def _text(save: Path, epochs: int) -> str:
    return 'use h = "tests.runtime.hooklib"\n' + tiny_trainer_text(n=10, max_epoch=epochs, grad_accumulation=2) + f"""\
hook optimize = optimizer()
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "{save.as_posix()}", save_step_freq = none,
                                                      save_epoch_freq = 2, save_when_loop_end = false)
hook fired    = h.Recorder(tag = "fired")
loop {{
    epoch {{
        step {{ after {{ optimize -> fired every 2 updates }} }}
        after {{ save }}
    }}
}}
"""


def _fired(text: str, path: Path, **kwargs: object) -> list[int]:
    hooklib.LOG.clear()
    HookBasedTrainer.from_plan(hookpipe.compile_text(text, str(path)), **kwargs)()  # type: ignore[arg-type]
    return [step for tag, callback, step, _ in hooklib.LOG if tag == "fired" and callback == "on_step_end"]


def test_every_n_updates_fires_at_the_same_steps_after_resuming_a_robo_orchard_checkpoint(tmp_path: Path) -> None:
    save = tmp_path / "ckpt"
    _fired(_text(save, 2), tmp_path / "first.pipe")
    for own in save.glob("hookpipe*"):  # what RoboOrchard Lab writes: no hookpipe records beside it
        own.unlink()
    assert (save / "custom_checkpoint_0.pkl").exists()
    resumed = _fired(_text(save, 4), tmp_path / "second.pipe", resume_from=ResumeCheckpointConfig(resume_from=str(save)))
    whole = _fired(_text(tmp_path / "other", 4), tmp_path / "whole.pipe")
    # Updates 2, 4, ..., 12 end the steps 3, 6, 9 | 13, 16, 19 (global ids; 3 updates per epoch).
    assert whole == [3, 6, 9, 13, 16, 19]
    assert resumed == [13, 16, 19]


def test_the_position_of_a_seed_record_counts_updates_as_the_compiler_does() -> None:
    state = TrainerProgressState()
    state.load_state_dict({"epoch_id": 1, "step_id": 5, "global_step_id": 10})  # after epoch 2 (epoch.after)
    state.infer_position(0, per_epoch=5, accumulation=2)
    assert (state.epoch_id, state.step_id, state.global_step_id) == (2, 0, 10)
    assert state.update_count == count_updates(10, 5, 2) == 6
