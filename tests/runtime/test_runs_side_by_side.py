"""A run never replaces, rewrites or prunes what another run wrote (``checkpoints/versions.py``).

``examples/cnn/README.md``'s resume recipe, followed as written: train, then
``--resume best`` with a changed lr into the same folders. Every file of the first
run must be byte-identical afterwards; the second run writes into ``v1`` and says
so when it starts, and ``--resume latest`` finds its newest checkpoint.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_module

PIPE = str(ROOT / "examples" / "cnn" / "train.pipe")

pytestmark = pytest.mark.slow


def tree(folder: Path) -> dict[str, str]:
    """Every file (and link) under ``folder``: its SHA-256 (a link: where it points)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "-> " + str(path.readlink())
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def hookpipe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run_module("hookpipe.cli", "run", PIPE, *args, cwd=cwd, timeout=600)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def test_resume_best_with_a_new_lr_leaves_the_first_run_byte_identical(tmp_path: Path) -> None:
    first = hookpipe(tmp_path, "--set", "trainer.max_epoch=2")
    assert first.returncode == 0, first.stderr
    runs = tmp_path / "runs" / "cnn"
    before = tree(runs)
    assert any(name.startswith("checkpoints/step-") for name in before) and "logs/metrics.csv" in before
    best = (runs / "checkpoints" / "best").resolve()

    done = hookpipe(tmp_path, "--resume", "best", "--set", "trainer.optimizer.lr=1e-3",
                    "--set", "trainer.max_epoch=3")
    assert done.returncode == 0, done.stderr
    after = tree(runs)
    assert {k: after.get(k) for k in before} == before  # nothing of the first run changed or went away
    assert ("hookpipe run: this run writes to runs/cnn/checkpoints/v1 and runs/cnn/logs/v1: the folders the "
            ".pipe file names hold another run's checkpoints or logs, and it resumes with changed settings, so "
            "nothing there is replaced or pruned") in done.stderr
    assert f"resuming runs/cnn/checkpoints/{best.name} after" in done.stderr
    new = sorted(k for k in after if k not in before)
    assert any(k.startswith("checkpoints/v1/step-") for k in new)
    assert "logs/v1/metrics.csv" in new
    # The second run's newest checkpoint is what --resume latest picks.
    newest = max(k.split("/")[2] for k in new if k.startswith("checkpoints/v1/step-"))
    again = hookpipe(tmp_path, "--resume", "latest", "--set", "trainer.optimizer.lr=1e-3",
                     "--set", "trainer.max_epoch=4")
    assert again.returncode == 0, again.stderr
    assert f"resuming runs/cnn/checkpoints/v1/{newest} after" in again.stderr
    # Only the limits changed since v1's checkpoint: it continues that run, in v1; the first run is untouched.
    assert "this run writes to" not in again.stderr
    final = tree(runs)
    assert {k: final.get(k) for k in before} == before
    assert not any(k.startswith(("checkpoints/v2", "logs/v2")) for k in final)


def test_a_new_run_into_used_folders_writes_beside_them(tmp_path: Path) -> None:
    first = hookpipe(tmp_path, "--set", "trainer.max_epoch=1")
    assert first.returncode == 0, first.stderr
    before = tree(tmp_path / "runs")
    again = hookpipe(tmp_path, "--set", "trainer.max_epoch=1", "--set", "trainer.optimizer.lr=1e-3")
    assert again.returncode == 0, again.stderr
    assert "this run writes to runs/cnn/checkpoints/v1 and runs/cnn/logs/v1" in again.stderr
    assert "and it is a new run, so nothing there is replaced or pruned" in again.stderr
    after = tree(tmp_path / "runs")
    assert {k: after.get(k) for k in before} == before
