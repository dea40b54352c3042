"""The RoboOrchard-style example trains on hookpipe, logs what the seed's hooks log, and resumes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from examples.robo_orchard_style.train import build


def test_the_example_trains_logs_and_checkpoints_like_the_seed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    results: list[float] = []
    save = tmp_path / "ckpt"
    with caplog.at_level(logging.INFO):
        trainer = build(str(save), max_epoch=2, results=results)
        trainer()
    by_logger = {}
    for r in caplog.records:
        by_logger.setdefault(r.name, []).append(r.getMessage())
    assert len(results) == 2 and results[-1] > 0.8  # held-out accuracy after each epoch (0.85 measured)
    assert any("train_acc[tensor(" in m for m in by_logger["robo_orchard_lab.pipeline.hooks.metric"])
    assert any("Training Speed:" in m for m in by_logger["robo_orchard_lab.pipeline.hooks.stats"])
    assert any("ce_loss[" in m and "total_loss[" in m for m in by_logger["robo_orchard_lab.pipeline.hooks.loss_tracker"])
    assert "Save checkpoint at the end of training to " + str(save) in by_logger["robo_orchard_lab.pipeline.hooks.checkpoint"]
    assert {"model.safetensors", "optimizer.bin", "scheduler.bin", "custom_checkpoint_0.pkl", "random_states_0.pkl",
            "hookpipe-progress.json"} <= {p.name for p in save.iterdir()}
    assert (save / "model" / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.old"))

    resumed = build(str(tmp_path / "more"), max_epoch=3, resume=str(save))
    assert resumed.trainer_progress_state.epoch_id == 2 and resumed.trainer_progress_state.step_id == 0
    for a, b in zip(resumed.model.parameters(), trainer.model.parameters()):
        assert torch.equal(a, b)
