"""A resume from the built-in checkpoint skips the ``before`` phases it was inside: hooks that set up there.

``StatsMonitor`` (the seed's, set up in ``on_loop_begin``) checkpoints what it needs
and goes on; a user's hook with such callbacks and no ``state_dict`` is named in a
warning, once, with the phases and what to do.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer, PipelineHookArgs, ResumeCheckpointConfig, StatsMonitorConfig
from tests.runtime.planbuild import tiny_trainer_text

STATS = "robo_orchard_lab.pipeline.hooks.stats"
LOOP = "hookpipe.runtime.loop.training_loop"

PIPE = """use h = "tests.runtime.hooklib"
use r = "tests.runtime.trial_resume_lib"
""" + tiny_trainer_text(n=10, max_epoch=2, progress=False) + """\
hook optimize = optimizer()
hook stats    = "hookpipe.runtime.StatsMonitorConfig"(step_log_freq = 1)
hook setup    = r.SetupHook()
hook kept     = r.StatefulSetupHook()
hook save     = checkpoint(dir = "CKPT", asynchronous = false)
loop {
    before { stats -> setup -> kept }
    epoch {
        before { stats -> setup -> kept }
        step { after { optimize -> stats -> save every 3 steps } }
        after { stats -> save }
    }
}
"""


def _train(tmp: Path, resume: Path | None = None) -> HookBasedTrainer:
    plan = compile_text(PIPE.replace("CKPT", str(tmp / "ckpt")), str(tmp / "stats.pipe"))
    extra = {"resume_from": ResumeCheckpointConfig(resume_from=str(resume))} if resume is not None else {}
    trainer = HookBasedTrainer.from_plan(plan, **extra)  # type: ignore[arg-type]
    trainer()
    return trainer


def test_stats_monitor_goes_on_after_a_resume_mid_epoch_and_a_setup_hook_is_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        _train(tmp_path)
    assert not [r for r in caplog.records if r.name == LOOP]  # a run that was not resumed warns of nothing
    caplog.clear()
    with caplog.at_level(logging.INFO):
        trainer = _train(tmp_path, tmp_path / "ckpt" / "step-00000003")  # in epoch 0, after 3 of its 5 steps
    lines = [r.getMessage() for r in caplog.records if r.name == STATS]
    # Every step after the resume is logged (step_log_freq = 1) with a finite speed, then both epochs' ends.
    speeds = [re.search(r"GlobalStep\[(\d+)\] Training Speed: ([\d.]+) samples/sec", line) for line in lines]
    assert [int(m.group(1)) for m in speeds if m] == list(range(3, 10))
    assert all(0 < float(m.group(2)) < float("inf") for m in speeds if m)
    ends = [line for line in lines if "completed" in line]
    assert [line.split(" completed")[0] for line in ends] == ["Epoch[0]", "Epoch[1]"]
    assert all("Epoch Time: " in line and "nan" not in line for line in ends)
    warnings = [r.getMessage() for r in caplog.records if r.name == LOOP and r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings  # `setup` only: `kept` restores its state, StatsMonitor is hookpipe's
    assert warnings[0].startswith("hook 'setup': this resume does not run on_loop_begin in loop.before (")
    assert "or on_epoch_begin in epoch.before (" in warnings[0]
    assert "give the hook state_dict() and load_state_dict()" in warnings[0]
    assert "or set it up lazily in the first callback that needs it" in warnings[0]
    kept = trainer.hook_instances["kept"]
    assert (kept.loops, kept.epochs) == (1, 2)  # restored (1, 1), then epoch 1's before phase ran


def test_a_resume_between_epochs_names_only_loop_before(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _train(tmp_path)
    with caplog.at_level(logging.WARNING):
        _train(tmp_path, tmp_path / "ckpt" / "step-00000005")  # epoch 0's end: epoch 1 runs its before phase
    warnings = [r.getMessage() for r in caplog.records if r.name == LOOP]
    assert len(warnings) == 1, warnings
    assert "does not run on_loop_begin in loop.before (" in warnings[0] and "epoch.before" not in warnings[0]


def _args(accelerator: Accelerator, loader: DataLoader, step: int, epoch: int = 0) -> PipelineHookArgs:
    return PipelineHookArgs(accelerator=accelerator, dataloader=loader, max_epoch=2, global_step_id=step,
                            step_id=step % 5, epoch_id=epoch)


def test_the_monitors_state_round_trips_through_json_and_stands_for_on_loop_begin(
        caplog: pytest.LogCaptureFixture) -> None:
    accelerator = Accelerator(cpu=True)
    loader = DataLoader(TensorDataset(torch.zeros(10, 4)), batch_size=2)
    first = StatsMonitorConfig(step_log_freq=1)()
    with first.begin("on_loop", _args(accelerator, loader, 0)), first.begin("on_epoch", _args(accelerator, loader, 0)):
        for step in range(3):
            with first.begin("on_step", _args(accelerator, loader, step)):
                pass
        state = json.loads(json.dumps(first.state_dict()))  # what the checkpoint's JSON holds
        assert len(state["step_times"]) == 3 and state["epoch_elapsed"] >= 0
        resumed = StatsMonitorConfig(step_log_freq=1)()
        resumed.load_state_dict(state)  # no on_loop_begin, no on_epoch_begin: the resume skips them
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=STATS):
            with resumed.begin("on_step", _args(accelerator, loader, 3)):
                pass
            with resumed.begin("on_step", _args(accelerator, loader, 4)):
                pass
            epoch_end = _args(accelerator, loader, 5)
            epoch_end.step_id = 4
            with resumed.begin("on_epoch", epoch_end):  # its before callback keeps the restored start
                pass
    lines = [r.getMessage() for r in caplog.records if r.name == STATS]
    assert [line.split(" Training")[0] for line in lines[:2]] == ["Epoch[0] Step[3] GlobalStep[3]",
                                                                  "Epoch[0] Step[4] GlobalStep[4]"]
    assert lines[2].startswith("Epoch[0] completed. Epoch Time: ")
    assert "samples/sec" in lines[2] and "N/A samples" not in lines[2]  # 5 steps since the epoch's start
    assert resumed.total_batch_size == 2  # estimated again, from the resumed run's loader
    assert len(resumed.state_dict()["step_times"]) == 5  # the 3 restored, then 2 more
