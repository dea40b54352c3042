"""What ``hookpipe run`` says: one step numbering, per-batch validation numbers, no tracebacks for mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, launch_env
from tests.runtime.planbuild import tiny_trainer_text

pytestmark = pytest.mark.slow

PIPE = """use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(n=10, max_epoch=2, seed=0, progress=False) + """\
hook optimize = optimizer()
hook evaluate = validation(callback = CALLBACK, dataloader = t.val_loader())
EXTRA
loop {
    epoch {
        step { after { optimize } }
        after { AFTER }
    }
}
"""


def run(tmp: Path, callback: str, extra: str = "", after: str = "evaluate",
        sets: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    path = tmp / "train.pipe"
    path.write_text(PIPE.replace("CALLBACK", callback).replace("EXTRA", extra).replace("AFTER", after),
                    encoding="utf-8")
    overrides = [arg for item in sets for arg in ("--set", item)]
    return subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", str(path), "--no-lint", *overrides], cwd=ROOT,
                          env=launch_env(), capture_output=True, text=True, timeout=300)


def validation_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("validation after")]


def test_a_failure_after_validation_counts_steps_as_validation_does(tmp_path: Path) -> None:
    done = run(tmp_path, "t.val_step", extra="hook stop = r.FailAtEpochEnd()", after="evaluate -> stop")
    assert done.returncode == 1
    assert "validation after 5 steps (epoch 0): " in done.stdout
    assert "hook 'stop' failed in on_epoch_end after 5 steps (" in done.stderr
    assert "RuntimeError: no such metric" in done.stderr
    assert "global step" not in done.stdout + done.stderr


def test_per_batch_numbers_are_averaged_by_sample_count(tmp_path: Path) -> None:
    # 13 samples in batches of 4: the last batch has 1, so an unweighted mean of batch means would differ.
    per_sample = run(tmp_path, "t.val_step")
    per_batch = run(tmp_path, "t.val_step_per_batch")
    assert per_sample.returncode == 0 and per_batch.returncode == 0, per_batch.stderr
    assert "Traceback" not in per_batch.stdout + per_batch.stderr
    expected = validation_lines(per_sample.stdout)
    assert len(expected) == 2 and "mse=" in expected[0]
    assert validation_lines(per_batch.stdout) == expected


def test_a_callback_returning_no_numbers_is_refused_in_one_line(tmp_path: Path) -> None:
    done = run(tmp_path, "t.val_step_text")
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    message = ("hook 'evaluate', in the sanity validation before the first step: validation metric 'mse' from "
               "val_step_text: return a number or one value per sample (a tensor with the batch as first "
               "dimension), got str")
    assert done.stderr == f"hookpipe run: {tmp_path / 'train.pipe'}: {message}\n"
    # Without the sanity validation the first real one says the same, naming the step and the line.
    later = run(tmp_path, "t.val_step_text", sets=("trainer.sanity_val_batches=0",))
    assert later.returncode == 1 and "Traceback" not in later.stdout + later.stderr
    assert (f"hook 'evaluate' failed in on_epoch_end after 5 steps ({tmp_path / 'train.pipe'}:19): "
            "ValidationResultError: validation metric 'mse' from val_step_text") in later.stderr


def test_a_failing_trainer_setting_is_named_at_its_line_with_a_quoted_number_hint(tmp_path: Path) -> None:
    path = tmp_path / "train.pipe"
    text = PIPE.replace("CALLBACK", "t.val_step").replace("EXTRA", "").replace("AFTER", "evaluate")
    assert 'optimizer       = "torch.optim.SGD"(lr = 0.01)' in text
    path.write_text(text.replace("(lr = 0.01)", '(lr = "0.05")'), encoding="utf-8")
    line = next(i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "optimizer  " in row)
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", str(path), "--no-lint"], cwd=ROOT,
                          env=launch_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (last,) = [row for row in done.stderr.splitlines() if row.startswith("hookpipe run:")]
    assert last.startswith(f"hookpipe run: {path}:{line}:5: trainer.optimizer: calling torch.optim.SGD(lr='0.05')")
    assert last.endswith('; `lr` is the string "0.05": write it without quotes for a number (lr = 0.05)')


def test_a_setting_a_set_changed_is_not_located_at_the_files_line(tmp_path: Path) -> None:
    done = run(tmp_path, "t.val_step", sets=('trainer.optimizer.lr="0.05"',))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (last,) = [row for row in done.stderr.splitlines() if row.startswith("hookpipe run:")]
    assert last.startswith(f"hookpipe run: {tmp_path / 'train.pipe'}: trainer.optimizer: calling torch.optim.SGD")
    assert last.endswith("(lr = 0.05)")
