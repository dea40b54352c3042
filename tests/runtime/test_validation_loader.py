"""``validation(dataloader = ...)``: per-sample values, gathered across processes, averaged exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from tests.helpers import launch_two, run_module
from tests.runtime import hooklib, trackinglib
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """pipeline "val"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"

""" + tiny_trainer_text(n=8, max_step=2, seed=0, log_with='["csv"]', log_dir='"logs"', progress=False) + """
hook optimize = optimizer()
hook evaluate = validation(callback = CALLBACK, dataloader = t.val_loader(n = 13, batch_size = 4))
hook record   = log()

loop {
    before { evaluate }
    epoch {
        step {
            after { optimize }
        }
    }
    after { record }
}
"""


def by_hand() -> dict[str, float]:
    """The metrics over the 13 samples, computed directly with the untrained tiny model."""
    model = hooklib.tiny_model()
    x, y = trackinglib.val_loader(n=13, batch_size=13).dataset.tensors
    with torch.no_grad():
        err = ((model(x) - y) ** 2).reshape(-1).double()
    return {"mse": float(err.mean()), "close": float((err < 1.0).double().mean())}


def test_one_process_averages_over_every_sample_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    trainer = HookBasedTrainer.from_plan(compile_text(PIPE.replace("CALLBACK", "t.val_step"), "val.pipe"))
    rng_before = torch.random.get_rng_state()
    trainer.hook_instances["evaluate"].evaluate(trainer._get_hook_args())
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # validation draws nothing training would see
    (done, metrics), = trainer.hook_instances["evaluate"].history
    expected = by_hand()
    assert metrics["close"] == expected["close"]
    assert metrics["mse"] == pytest.approx(expected["mse"], rel=1e-6)


def test_one_number_per_batch_counts_once_per_sample_of_its_batch(tmp_path: Path) -> None:
    pipe = PIPE.replace("CALLBACK", '"tests.runtime.test_validation_loader:batch_mean"').replace('"logs"', f'"{tmp_path}"')
    trainer = HookBasedTrainer.from_plan(compile_text(pipe, "val.pipe"))
    trainer.hook_instances["evaluate"].evaluate(trainer._get_hook_args())
    (_, metrics), = trainer.hook_instances["evaluate"].history
    # Batches of 4, 4, 4 and 1: the batch means weighted by size are the mean over the 13 samples.
    assert metrics["mse"] == pytest.approx(by_hand()["mse"], rel=1e-6)


def batch_mean(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
    x, y = batch
    return {"mse": ((model(x) - y) ** 2).mean()}


def _run(folder: Path, processes: int) -> dict[str, str]:
    folder.mkdir()
    (folder / "val.pipe").write_text(PIPE.replace("CALLBACK", "t.val_step"))
    run = ("hookpipe.runtime.run", "val.pipe")
    done = run_module(*run, cwd=folder) if processes == 1 else launch_two(*run, cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    with (folder / "logs" / "metrics.csv").open(newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    return row


@pytest.mark.slow
def test_two_processes_report_what_one_does(tmp_path: Path) -> None:
    one, two = _run(tmp_path / "one", 1), _run(tmp_path / "two", 2)
    expected = by_hand()
    assert float(one["evaluate/close"]) == float(two["evaluate/close"]) == expected["close"]
    assert float(two["evaluate/mse"]) == pytest.approx(float(one["evaluate/mse"]), rel=1e-12)
    assert float(one["evaluate/mse"]) == pytest.approx(expected["mse"], rel=1e-6)
