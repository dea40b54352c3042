"""RoboOrchard Lab's hooks as ``.pipe`` hook types run where the file attaches them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import hookpipe
from examples.probes import Regression
from hookpipe.runtime import HookBasedTrainer, LossTracker, SaveCheckpoint


class DictRegression(Regression):
    """Outputs as a mapping with a ``loss`` key, as the seed's LossTracker reads them."""

    def forward(self, model, batch):  # type: ignore[no-untyped-def]
        outputs, loss = super().forward(model, batch)
        return {"pred": outputs, "loss": loss.detach()}, loss


def test_a_pipe_file_runs_seed_hooks_by_their_config_paths(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    save = (tmp_path / "ckpt").as_posix()
    text = f'''use probes = "examples.probes"
trainer {{
    max_step        = 8
    model           = probes.build_model(sizes = [8, 4, 1])
    optimizer       = "torch.optim.SGD"(lr = 0.01)
    dataloader      = probes.regression_loader(batch_size = 16, size = 64)
    batch_processor = "tests.runtime.test_seed_hooks_in_plans:DictRegression"()
}}
hook optimize = optimizer()
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "{save}", save_step_freq = 3, save_epoch_freq = none)
hook losses   = "hookpipe.runtime.hooks.LossTrackerConfig"(step_log_freq = 2)
loop {{
    epoch {{ step {{ after {{ optimize -> save -> losses }} }} }}
    after {{ save }}
}}
'''
    plan = hookpipe.compile_text(text, str(tmp_path / "seed.pipe"))
    spec = {h.name: h for h in plan.hooks}["save"]
    assert not spec.builtin and spec.args["save_when_loop_end"] is True  # the seed's defaults, filled in
    with caplog.at_level(logging.INFO):
        trainer = HookBasedTrainer.from_plan(plan)
        trainer()
    assert isinstance(trainer.hook_instances["save"], SaveCheckpoint)
    assert isinstance(trainer.hook_instances["losses"], LossTracker)
    saves = [r.getMessage() for r in caplog.records if r.name == "robo_orchard_lab.pipeline.hooks.checkpoint"]
    assert saves == [f"Save checkpoint at the end of step {g} to {save}" for g in (2, 5)] + [
        f"Save checkpoint at the end of training to {save}"]
    losses = [r.getMessage() for r in caplog.records if r.name == "robo_orchard_lab.pipeline.hooks.loss_tracker"]
    assert len(losses) == 4 and losses[0].startswith("Epoch[0/NA] Step[1] GlobalStep[1/7]: loss[")
    position = json.loads((tmp_path / "ckpt" / "hookpipe-progress.json").read_text())
    assert position["global_step_id"] == 8 and position["epoch_id"] == 2
