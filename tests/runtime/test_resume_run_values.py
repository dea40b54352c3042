"""What ``run.*`` means in a resumed run, and what a resume says, as ``hookpipe run`` shows it.

The documented rule (docs/runtime.md, "Resuming a changed pipeline"): ``run.steps``
and ``run.updates`` count the whole run, the steps and updates already done plus
those left under the current settings; the learning-rate schedule is the one the
current settings define, at the updates already made. Each test reads the lr the
next two updates use (``runlib.LearningRates``) and compares it with that rule
(a cosine over ``run.updates``, computed here by hand).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from hookpipe.runtime.checkpoints.resume import MARKER
from tests.helpers import ROOT, launch_env, launch_two
from tests.runtime.planbuild import tiny_trainer_text

pytestmark = pytest.mark.slow

PIPE = """use h = "tests.runtime.hooklib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(
    n=48, lr=0.1, max_epoch=3, grad_accumulation=2, seed=0,
    lr_scheduler='"torch.optim.lr_scheduler.CosineAnnealingLR"(T_max = run.updates)') + """\
hook optimize = optimizer()
hook lrs      = r.LearningRates(path = "LRS")
hook save     = checkpoint(dir = "CKPT")
loop {
    epoch {
        step { after { lrs every update -> optimize } }
        after { save }
    }
}
"""


def cosine(base: float, update: int, total: int) -> float:
    """CosineAnnealingLR's closed form: the lr after ``update`` updates of ``total``."""
    return base * (1 + math.cos(math.pi * update / total)) / 2


def write(tmp: Path) -> Path:
    path = tmp / "train.pipe"
    path.write_text(PIPE.replace("LRS", str(tmp / "lrs")).replace("CKPT", str(tmp / "ckpt")), encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", *args], cwd=ROOT, env=launch_env(),
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def rates(path: Path) -> list[float]:
    return [float(x) for x in path.read_text().split()]


def test_changed_batch_size_and_accumulation_continue_the_whole_run_s_schedule(tmp_path: Path) -> None:
    pipe = write(tmp_path)
    # 48 samples, batches of 2, accumulation 2: 24 steps and 12 updates per epoch; stopped after epoch 1.
    first = run(str(pipe), "--set", "trainer.max_epoch=1")
    assert first.returncode == 0, first.stderr
    assert len(rates(tmp_path / "lrs.0")) == 12
    # Resumed for epochs 2 and 3 with batches of 4 and accumulation 4: 12 steps and 3 updates per epoch.
    done = run(str(pipe), "--resume", str(tmp_path / "ckpt" / "step-00000024"),
               "--set", "trainer.dataloader.batch_size=4", "--set", "trainer.grad_accumulation=4",
               "--set", f"hook.lrs.path={tmp_path / 'after'}")
    assert done.returncode == 0, done.stderr
    # The checkpointed run's values were those of a 1-epoch run: 24 steps, 12 updates.
    assert "  run.updates: 12 -> 18 (12 done + 6 left under the current settings)" in done.stderr
    assert "  run.steps: 24 -> 48 (24 done + 24 left under the current settings)" in done.stderr
    assert "  run.steps_per_epoch: 24 -> 12" in done.stderr
    assert "trainer.grad_accumulation: 2 -> 4" in done.stderr
    after = rates(tmp_path / "after.0")
    assert len(after) == 6
    # The whole run has 18 updates now; the next update is the 13th.
    assert after[0] == pytest.approx(cosine(0.1, 12, 18))
    assert after[1] == pytest.approx(cosine(0.1, 13, 18))
    assert f"  the next update uses lr {cosine(0.1, 12, 18):.6g} (the checkpoint's schedule was at " \
           f"{cosine(0.1, 12, 12):.6g})" in done.stderr


def test_raised_limits_with_a_new_lr_say_the_lr_the_next_update_uses(tmp_path: Path) -> None:
    pipe = write(tmp_path)
    first = run(str(pipe), "--set", "trainer.max_epoch=2")
    assert first.returncode == 0, first.stderr
    assert len(rates(tmp_path / "lrs.0")) == 24
    done = run(str(pipe), "--resume", str(tmp_path / "ckpt" / "step-00000048"), "--set", "trainer.max_epoch=3",
               "--set", "trainer.optimizer.lr=0.05", "--set", f"hook.lrs.path={tmp_path / 'after'}")
    assert done.returncode == 0, done.stderr
    assert "  trainer.max_epoch: 2 -> 3" in done.stderr
    assert "  trainer.optimizer.lr: 0.1 -> 0.05" in done.stderr
    assert "  run.updates: 24 -> 36 (24 done + 12 left under the current settings)" in done.stderr
    next_lr = cosine(0.05, 24, 36)
    assert f"  applied: the optimizer's lr is now {next_lr:g} (the schedule from lr 0.05, at update 24)" \
        in done.stderr
    assert f"  the next update uses lr {next_lr:.6g}" in done.stderr
    after = rates(tmp_path / "after.0")
    assert len(after) == 12
    assert after[0] == pytest.approx(next_lr)  # what "applied" said is what the next update used
    assert after[1] == pytest.approx(cosine(0.05, 25, 36))


def test_a_two_process_checkpoint_resumed_on_one_process_says_so_and_continues_its_run(tmp_path: Path) -> None:
    pipe = write(tmp_path)
    # 2 processes: 12 steps and 6 updates per epoch on each; stopped after epoch 1.
    first = launch_two("hookpipe.cli", "run", str(pipe), "--set", "trainer.max_epoch=1", timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(rates(tmp_path / "lrs.0")) == 6
    done = run(str(pipe), "--resume", str(tmp_path / "ckpt" / "step-00000012"), "--set", "trainer.max_epoch=2")
    assert done.returncode == 0, done.stderr
    assert "the pipeline is unchanged" not in done.stderr
    assert "  run.num_processes: 2 -> 1 (the process count)" in done.stderr
    # One process trains on all 24 batches of epoch 2 (12 updates), after the 6 done.
    assert "  run.updates: 6 -> 18 (6 done + 12 left under the current settings)" in done.stderr
    # The process count is the run's, not the file's: only the limits changed, so the run goes on in its
    # folder, under its id (docs/runtime.md, "Checkpoint folders of several runs").
    assert "this run writes to" not in done.stderr
    ckpt = tmp_path / "ckpt"
    assert sorted(p.name for p in ckpt.iterdir()) == ["step-00000012", "step-00000036"]
    assert json.loads((ckpt / "step-00000036" / MARKER).read_text())["run"] == \
        json.loads((ckpt / "step-00000012" / MARKER).read_text())["run"]
    after = rates(tmp_path / "lrs.0")[6:]  # appended by the resumed run
    assert len(after) == 12
    assert after[0] == pytest.approx(cosine(0.1, 6, 18))
    assert after[1] == pytest.approx(cosine(0.1, 7, 18))
