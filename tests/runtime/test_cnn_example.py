"""``examples/cnn`` reaches 97% held-out accuracy on one process and on two."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, launch_two, run_module

PIPE = ROOT / "examples" / "cnn" / "train.pipe"


def train(folder: Path, processes: int) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]]]:
    run = ("hookpipe.cli", "run", str(PIPE))
    done = (run_module if processes == 1 else launch_two)(*run, cwd=folder, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with (folder / "runs" / "cnn" / "logs" / "metrics.csv").open(newline="") as fh:
        return done, list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2])
def test_the_cnn_example_reaches_97_percent(tmp_path: Path, processes: int) -> None:
    done, rows = train(tmp_path, processes)
    accuracies = [float(r["evaluate/accuracy"]) for r in rows if r.get("evaluate/accuracy")]
    assert accuracies[-1] >= 0.97, accuracies
    assert "stopped early: early_stop: evaluate.accuracy" in done.stdout or len(accuracies) == 40
    checkpoints = tmp_path / "runs" / "cnn" / "checkpoints"
    assert (checkpoints / "best").is_symlink() and (checkpoints / "best").resolve().is_dir()
    assert list((tmp_path / "runs" / "cnn" / "logs").glob("events.out.tfevents.*"))
