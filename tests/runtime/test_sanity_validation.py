"""The sanity validation before the first step: a misspelt monitor is caught, training is unchanged."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, launch_env
from tests.runtime.planbuild import tiny_trainer_text

pytestmark = pytest.mark.slow

PIPE = """use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
""" + tiny_trainer_text(n=12, max_epoch=2, seed=3, progress=False, model="h.tiny_model(dropout = 0.3)",
                        dataloader="h.tiny_loader(n = 12, batch_size = 2, shuffle = true)") + """\
hook optimize = optimizer()
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader())
hook stop     = early_stop(monitor = "MONITOR", mode = "min", patience = 5)
hook save     = checkpoint(dir = "CKPT")
loop {
    epoch {
        step { after { optimize } }
        after { evaluate -> stop -> save }
    }
}
"""


def run(tmp: Path, monitor: str, *sets: str) -> subprocess.CompletedProcess[str]:
    path = tmp / "train.pipe"
    path.write_text(PIPE.replace("MONITOR", monitor).replace("CKPT", str(tmp / "ckpt")), encoding="utf-8")
    args = [a for s in sets for a in ("--set", s)]
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", str(path), *args], cwd=ROOT,
                          env=launch_env(), capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def test_a_misspelt_monitor_is_reported_before_the_first_step(tmp_path: Path) -> None:
    done = run(tmp_path, "evaluate.mes")
    assert done.returncode == 1
    assert (f"hookpipe run: {tmp_path / 'train.pipe'}: hook 'stop' monitors `evaluate.mes`, but the sanity "
            "validation before the first step shows that "
            "'evaluate' returns close, mse; did you mean `evaluate.mse`? (nothing was trained; "
            "trainer.sanity_val_batches = 0 skips this check)") in done.stderr
    assert "validation after" not in done.stdout
    # No checkpoint was written (the folder itself may exist: the run took its lock there, then released it).
    assert not list((tmp_path / "ckpt").glob("**/step-*"))
    assert not (tmp_path / "ckpt" / ".hookpipe-run.lock").exists()


def test_a_callback_that_raises_in_the_sanity_validation_names_the_hook_and_its_line(tmp_path: Path) -> None:
    """Its traceback (the user's bug), then the one line a failure in a step gets, not a bare traceback."""
    path = tmp_path / "train.pipe"
    path.write_text(PIPE.replace("t.val_step", "t.broken_val_step").replace("MONITOR", "evaluate.mse").replace(
        "CKPT", str(tmp_path / "ckpt")), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", str(path)], cwd=ROOT, env=launch_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert 'raise ValueError("eval broke")' in done.stderr  # where the user's bug is
    declared = next(n for n, text in enumerate(PIPE.splitlines(), 1) if text.startswith("hook evaluate"))
    assert lines[-1] == (f"hookpipe run: {path}: hook 'evaluate' failed in the sanity validation before the first "
                         f"step ({path}:{declared}): ValueError: eval broke")


def test_the_sanity_validation_leaves_training_bitwise_unchanged(tmp_path: Path) -> None:
    # Dropout and a shuffled loader: any RNG draw or mode change would show in the weights.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_it = run(tmp_path / "a", "evaluate.mse")
    without = run(tmp_path / "b", "evaluate.mse", "trainer.sanity_val_batches=0")
    assert with_it.returncode == 0 and without.returncode == 0, with_it.stderr + without.stderr
    a = (tmp_path / "a" / "ckpt" / "step-00000012" / "model.safetensors").read_bytes()
    b = (tmp_path / "b" / "ckpt" / "step-00000012" / "model.safetensors").read_bytes()
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()
    # The same validation lines (the history holds no trial result).
    lines = [line for line in with_it.stdout.splitlines() if line.startswith("validation after")]
    assert lines == [line for line in without.stdout.splitlines() if line.startswith("validation after")]
    assert [line.split(":")[0] for line in lines] == ["validation after 6 steps (epoch 0)",
                                                     "validation after 12 steps (epoch 1)"]
