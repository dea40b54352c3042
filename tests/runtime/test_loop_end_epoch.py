"""What reports at the loop's end names the last epoch that ran, not the count of epochs (the seed's loop ids)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from tests.runtime.planbuild import tiny_trainer_text


def _pipe(max_step: int) -> str:
    # 8 samples in batches of 2: 4 steps an epoch.
    return ('use h = "tests.runtime.hooklib"\n'
            + tiny_trainer_text(n=8, max_step=max_step, seed=0, progress=False, log_with='["csv"]',
                                log_dir='"logs"')
            + "hook optimize = optimizer()\n"
              "hook evaluate = validation(callback = h.held_out_error)\n"
              "hook publish  = log()\n"
              "loop {\n    epoch { step { after { optimize } } }\n    after { evaluate -> publish }\n}\n")


@pytest.mark.parametrize(("max_step", "epochs_run", "last"), [(6, 2, 1), (3, 1, 0), (8, 2, 1)])
def test_loop_after_reports_the_last_epoch_that_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], max_step: int,
                                                    epochs_run: int, last: int) -> None:
    monkeypatch.chdir(tmp_path)
    trainer = HookBasedTrainer.from_plan(compile_text(_pipe(max_step), "end.pipe"))
    trainer()
    # The hooks still get the seed's ids: epoch_id counts the epochs run.
    assert trainer.trainer_progress_state.epoch_id == epochs_run
    assert f"validation after {max_step} steps (epoch {last}):" in capsys.readouterr().out
    with open(tmp_path / "logs" / "metrics.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert (int(row["step"]), int(row["epoch"])) == (max_step, last)
