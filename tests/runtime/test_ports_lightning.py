"""A LightningCLI config imported and run as it is: its metrics.csv holds what Lightning's logger would.

Lightning logs the training values every ``log_every_n_steps`` optimizer steps and each
validation's results at the step that validation ran; ``ModelCheckpoint(save_last=True)``
keeps the newest checkpoint beside the best. The import used to attach ``log()`` only for
a ``LearningRateMonitor``, so a validation's results waited for its next firing (stamped at
a later step, or overwritten by the next validation's), and wrote ``save_last`` as a save
at the run's end (HP108). A CPU run of a few seconds.
"""

from __future__ import annotations

import csv
import re
import textwrap
from pathlib import Path

import pytest

from hookpipe.porting.writer import MARK
from hookpipe.runtime.checkpoints.resume import latest_checkpoint
from hookpipe.runtime.run import run_file
from tests.helpers import run_cli

CONFIG = """\
    seed_everything: 0
    trainer:
      accelerator: cpu
      max_epochs: 2
      accumulate_grad_batches: 2
      val_check_interval: 6
      log_every_n_steps: 2
      num_sanity_val_steps: 0
      enable_progress_bar: false
      logger:
        class_path: lightning.pytorch.loggers.CSVLogger
        init_args: {save_dir: logs}
      callbacks:
        - class_path: lightning.pytorch.callbacks.ModelCheckpoint
          init_args: {dirpath: ckpt, monitor: val_loss, mode: min, save_top_k: 1, save_last: true}
        - class_path: lightning.pytorch.callbacks.LearningRateMonitor
          init_args: {logging_interval: step}
    model:
      class_path: tests.runtime.litlib.Net
    data:
      class_path: tests.runtime.litlib.Data
      init_args: {n: 28, batch_size: 2}
    optimizer:
      class_path: torch.optim.SGD
      init_args: {lr: 1.0}
    """

# 28 samples in batches of 2: 14 batches an epoch, 2 epochs. Accumulation 2: updates after batches
# 2, 4, ..., 14 of each epoch (7 an epoch); every 2 updates (log_every_n_steps) is after steps 4, 8, 12, then
# (update 7 at step 14 being odd) 16, 20, 24, 28. Validation every 6 batches of each epoch: steps 6, 12, 20, 26.
LOGGED = [4, 8, 12, 16, 20, 24, 28]
VALIDATED = [6, 12, 20, 26]


MONITOR = ("    - class_path: lightning.pytorch.callbacks.LearningRateMonitor\n"
           "      init_args: {logging_interval: step}\n")


@pytest.mark.parametrize("monitor", [True, False], ids=["lr_monitor", "no_lr_monitor"])
def test_an_imported_config_logs_each_validation_at_its_step_and_the_loss_every_n_updates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], monitor: bool) -> None:
    """With or without a LearningRateMonitor (without one the import used to write no log(): no metrics.csv)."""
    monkeypatch.chdir(tmp_path)
    config = textwrap.dedent(CONFIG)
    assert MONITOR in config
    (tmp_path / "config.yaml").write_text(config if monitor else config.replace(MONITOR, ""), encoding="utf-8")
    done = run_cli("import", "lightning", "config.yaml", "--module", "tests.runtime.litlib", "-o", "train.pipe")
    text = (tmp_path / "train.pipe").read_text()
    # the one mark asks to name the monitored metric, which litlib.val_step returns as val_loss: run as imported
    assert done.code == 1 and [line.split(MARK)[1].strip() for line in text.splitlines() if MARK in line] == [
        "monitor 'val_loss': name the metric val_step returns"], text
    assert run_cli("lint", "--warnings-as-errors", "train.pipe").code == 0
    capsys.readouterr()
    assert run_file("train.pipe", [], None) == 0
    out = capsys.readouterr().out
    # the validations ran where Lightning runs them
    assert [int(s) for s in re.findall(r"validation after (\d+) steps", out)] == VALIDATED
    with (tmp_path / "logs/metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    steps = [int(row["step"]) for row in rows]
    # one record per step: the training values every 2 updates and each validation's results at its own step;
    # at steps 12 and 20 (both) one record holds both
    assert steps == sorted({*LOGGED, *VALIDATED})
    validated = [(int(row["step"]), float(row["evaluate/val_loss"])) for row in rows if row["evaluate/val_loss"]]
    assert [step for step, _ in validated] == VALIDATED  # each result once, at its step: none repeated later
    printed = [float(v) for v in re.findall(r"validation after \d+ steps \(epoch \d\): val_loss=([0-9.]+)", out)]
    assert [value for _, value in validated] == pytest.approx(printed, abs=1e-4)
    assert all(row["evaluate/val_acc"] for row in rows if int(row["step"]) in VALIDATED)
    # every record has the loss since the previous one, and the learning rate (log() records it: the monitor's)
    assert all(row["loss"] and row["lr/0"] for row in rows)
    # save_last: the newest checkpoint kept beside the best, and what --resume latest resumes from
    best = min(validated, key=lambda pair: pair[1])[0]
    assert best != VALIDATED[-1]  # (lr 1.0: the loss at step 26 is above step 20's) so both are asked for
    kept = sorted(p.name for p in (tmp_path / "ckpt").iterdir() if p.name.startswith("step-"))
    assert kept == [f"step-{best:08d}", f"step-{VALIDATED[-1]:08d}"]
    newest = latest_checkpoint(tmp_path / "ckpt")
    assert newest is not None and newest.name == f"step-{VALIDATED[-1]:08d}"
