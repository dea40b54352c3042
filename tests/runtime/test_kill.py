"""Crash safety: runs SIGKILLed at chosen points, then resumed, end exactly like an uninterrupted run.

Each scenario kills a subprocess run (``tests/runtime/killrun.py``) at one or two
points (a fixed seed picks them: mid-forward, between steps, inside a torn
checkpoint write, before the rename), resumes with ``--resume latest`` until the
run completes, and compares with an uninterrupted run: the final parameters
bitwise, and the hooks fired (``HOOKPIPE_TRACE``) with
``hookpipe.compiler.schedule.simulate``. SIGTERM stops gracefully with 143.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hookpipe.compiler import compile_file
from hookpipe.compiler.schedule import simulate
from hookpipe.runtime.checkpoints.resume import latest_checkpoint
from tests.helpers import run_module

pytestmark = pytest.mark.slow  # kills training processes

MAX_STEP = 14
PER_EPOCH = 5

PIPE = """pipeline "kill"
use h = "tests.runtime.hooklib"

trainer {
    max_step          = 14
    grad_accumulation = 2
    seed              = 3
    model             = h.tiny_model(dropout = 0.2)
    dataloader        = h.tiny_loader(n = 10, batch_size = 2, shuffle = true)
    optimizer         = "torch.optim.AdamW"(lr = 0.01)
    lr_scheduler      = "torch.optim.lr_scheduler.StepLR"(step_size = 3, gamma = 0.5)
    batch_processor   = h.MSE()
}

hook clip     = grad_clip(mode = "norm", max_norm = 0.5)
hook optimize = optimizer()
hook evaluate = validation(callback = h.held_out_error)
hook save     = checkpoint(dir = "ckpt")
hook losses   = loss_log(window = 3)
EXTRA_HOOKS

loop {
    before { evaluate }
    epoch {
        step {
            after {
                clip -> optimize
                save every 3 steps
                losses
            }
        }
        after {
            evaluate
            save every 2 epochs
        }
    }
    after { save }
}
"""

#: Global steps (0-based) whose step.after saves a checkpoint; epoch 2 ends after step 9.
SAVE_STEPS = (2, 5, 8, 11)
EPOCH_SAVE_STEP = 9


def project(tmp: Path, extra_hooks: str = "", attach: str = "") -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "pyproject.toml").write_text("")
    text = PIPE.replace("EXTRA_HOOKS", extra_hooks)
    if attach:
        text = text.replace("        step {\n", "        step {\n" + attach, 1)
    (tmp / "train.pipe").write_text(text)
    return tmp / "train.pipe"


def launch(pipe: Path, point: str = "none", step: int = -1, resume: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["train.pipe"] + (["--resume", "latest"] if resume else [])
    return run_module("tests.runtime.killrun", point, str(step), "--", *args, cwd=pipe.parent,
                      env={"HOOKPIPE_TRACE": str(pipe.parent / "trace")}, timeout=120)


def final_params(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "ckpt" / f"step-{MAX_STEP:08d}" / "model.safetensors"))


def trace(folder: Path) -> list[list[object]]:
    return [json.loads(line) for line in (folder / "trace").read_text().splitlines()]


def expected_trace(pipe: Path) -> list[list[object]]:
    firings = simulate(compile_file(pipe), MAX_STEP, PER_EPOCH)
    return [[f.step, f.epoch, f.scope, f.phase, f.hook] for f in firings]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    folder = tmp_path_factory.mktemp("baseline")
    pipe = project(folder)
    done = launch(pipe)
    assert done.returncode == 0, done.stderr
    assert trace(folder) == expected_trace(pipe)
    return final_params(folder)


#: Per seed: the kind of checkpoint-write kill and the kind of step kill (the seed picks the steps).
#: ``in-background`` kills inside an asynchronous save's background write (the default);
#: ``in-save`` inside ``save_state`` of a synchronous one (``asynchronous = false``).
KINDS = {1: ("in-background", "forward"), 2: ("before-rename", "step"), 3: ("in-background", "after-step"),
         4: ("in-save", "forward")}


def synchronous_if_needed(pipe: Path, seed: int) -> None:
    """The ``in-save`` kill needs ``save_state`` in the loop: that scenario saves synchronously."""
    if KINDS[seed][0] == "in-save":
        text = pipe.read_text().replace('checkpoint(dir = "ckpt"', 'checkpoint(dir = "ckpt", asynchronous = false', 1)
        pipe.write_text(text)


def scenario(seed: int) -> list[tuple[str, int]]:
    """Two kills per seed: one inside a checkpoint write, one at a step, steps drawn from the seed."""
    rng = random.Random(seed)
    write_kind, step_kind = KINDS[seed]
    first = (write_kind, rng.choice(SAVE_STEPS[1:3] + (EPOCH_SAVE_STEP,)))
    second = (step_kind, rng.randrange(first[1] + 1, MAX_STEP))
    return [first, second]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sigkill_anywhere_then_resume_matches_the_uninterrupted_run(
    tmp_path: Path, baseline: dict[str, torch.Tensor], seed: int
) -> None:
    pipe = project(tmp_path)
    synchronous_if_needed(pipe, seed)
    kills = scenario(seed)
    resume = False
    for point, step in kills:
        killed = launch(pipe, point, step, resume)
        assert killed.returncode == -9, (point, step, killed.stderr[-3000:])
        # No half-written folder is ever a candidate: only complete step-* folders count.
        latest = latest_checkpoint(tmp_path / "ckpt")
        for folder in (tmp_path / "ckpt").glob("step-*"):
            assert (folder / "hookpipe-checkpoint.json").is_file(), folder
        if latest is None:  # killed before the first checkpoint: start again
            (tmp_path / "trace").unlink()
        resume = latest is not None
    done = launch(pipe, resume=resume)
    assert done.returncode == 0, (kills, done.stderr[-3000:])
    got = final_params(tmp_path)
    assert got.keys() == baseline.keys()
    assert all(torch.equal(got[k], baseline[k]) for k in got), kills
    assert trace(tmp_path) == expected_trace(pipe), kills


def test_sigterm_finishes_the_step_checkpoints_and_resumes_exactly(
    tmp_path: Path, baseline: dict[str, torch.Tensor]
) -> None:
    pipe = project(tmp_path, 'hook term = h.SignalAt(step = 6, signal = "SIGTERM")\n', "            before { term }\n")
    stopped = launch(pipe)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    # Step 6 (0-based) finished: the checkpoint holds 7 completed steps, mid-window.
    assert latest_checkpoint(tmp_path / "ckpt") == tmp_path / "ckpt" / "step-00000007"
    assert "stopped by SIGTERM after 7 steps; checkpoint" in stopped.stderr
    assert "step-00000007" in stopped.stderr
    done = launch(pipe, resume=True)
    assert done.returncode == 0, done.stderr[-3000:]
    got = final_params(tmp_path)
    assert all(torch.equal(got[k], baseline[k]) for k in got)
    assert [f for f in trace(tmp_path) if f[4] != "term"] == expected_trace(project(tmp_path / "plain"))


# -- with EMA and best-checkpoint state ---------------------------------------------

EMA_HOOKS = 'hook average = ema(decay = 0.9)\n'
EMA_ATTACH = "            after { average }\n"


def ema_project(tmp: Path) -> Path:
    """The kill pipeline plus an EMA that validation evaluates, and checkpoints ranked by it."""
    pipe = project(tmp, EMA_HOOKS, EMA_ATTACH)
    text = pipe.read_text()
    text = text.replace("validation(callback = h.held_out_error)", 'validation(callback = h.held_out_error, weights = "ema")')
    text = text.replace('checkpoint(dir = "ckpt")', 'checkpoint(dir = "ckpt", monitor = "evaluate.mse", mode = "min", keep_best = 1)')
    pipe.write_text(text)
    return pipe


def ema_state(folder: Path) -> dict[str, torch.Tensor]:
    """The final checkpoint's hook tensors (the EMA's averages) and its ranking."""
    final = folder / "ckpt" / f"step-{MAX_STEP:08d}"
    tensors = load_file(str(final / "hookpipe-hooks.safetensors"))
    assert any(".shadow." in k for k in tensors), sorted(tensors)
    marker = json.loads((final / "hookpipe-checkpoint.json").read_text())
    tensors["ranked value"] = torch.tensor(marker["monitor"]["value"], dtype=torch.float64)
    return tensors


@pytest.fixture(scope="module")
def ema_baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], str]:
    folder = tmp_path_factory.mktemp("ema-baseline")
    pipe = ema_project(folder)
    done = launch(pipe)
    assert done.returncode == 0, done.stderr
    assert trace(folder) == expected_trace(pipe)
    return final_params(folder), ema_state(folder), os.readlink(folder / "ckpt" / "best")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_resume_with_ema_and_best_checkpoint_state_is_bitwise_exact(
    tmp_path: Path, ema_baseline: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], str], seed: int
) -> None:
    params, averages, best = ema_baseline
    pipe = ema_project(tmp_path)
    synchronous_if_needed(pipe, seed)
    resume = False
    for point, step in scenario(seed):
        killed = launch(pipe, point, step, resume)
        assert killed.returncode == -9, (point, step, killed.stderr[-3000:])
        if latest_checkpoint(tmp_path / "ckpt") is None:
            (tmp_path / "trace").unlink()
        resume = latest_checkpoint(tmp_path / "ckpt") is not None
    done = launch(pipe, resume=resume)
    assert done.returncode == 0, done.stderr[-3000:]
    got = final_params(tmp_path)
    assert all(torch.equal(got[k], params[k]) for k in params)
    got_averages = ema_state(tmp_path)
    assert got_averages.keys() == averages.keys()
    assert all(torch.equal(got_averages[k], averages[k]) for k in averages), seed
    assert os.readlink(tmp_path / "ckpt" / "best") == best
    assert trace(tmp_path) == expected_trace(pipe)
