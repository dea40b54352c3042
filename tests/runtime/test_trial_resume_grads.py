"""The seed's ``SaveCheckpoint`` in a ``.pipe`` run keeps an unfinished accumulation window's gradients.

A SIGTERM inside the window (every checkpoint hook saves at a stop) must leave a
checkpoint that resumes into the run that was interrupted: the window's gradients
are saved beside accelerate's state (``hookpipe-grads-<rank>.safetensors``, as the
built-in ``checkpoint`` writes) and loaded at the resume.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hookpipe.runtime.checkpoints.resume import checkpoint_problem, read_marker
from tests.helpers import launch_env
from tests.runtime.planbuild import tiny_trainer_text

pytestmark = pytest.mark.slow

# 5 batches an epoch, updates after batches 2, 4 and 5 (accelerate syncs at the epoch's end): the signal at
# global step 5's start stops after it, the first batch of epoch 1, inside a window.
PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=10, max_epoch=3, seed=0, grad_accumulation=2, progress=False,
                        model="h.tiny_model(dropout = 0.3)",
                        dataloader="h.tiny_loader(n = 10, batch_size = 2, shuffle = true)") + """\
hook optimize = optimizer()
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "ckpt", save_step_freq = 100, save_epoch_freq = none)
hook term     = h.SignalAt(step = 5, signal = "SIGTERM")
loop {
    epoch { step {
        before { term }
        after { optimize -> save }
    } }
    after { save }
}
"""


def _run(folder: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("")
    (folder / "accum.pipe").write_text(text)
    return subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", "accum.pipe", "--no-lint", *args],
                          cwd=folder, env=launch_env(), capture_output=True, text=True, timeout=300)


def test_a_stop_inside_an_accumulation_window_resumes_bitwise_exact(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole", PIPE.replace("h.SignalAt(step = 5", "h.SignalAt(step = 1000"))
    assert whole.returncode == 0, whole.stderr
    stopped = _run(tmp_path / "cut", PIPE)
    assert stopped.returncode == 143, stopped.stderr
    assert "stopped by SIGTERM after 6 steps; checkpoint ckpt (resume with --resume latest)" in stopped.stderr
    ckpt = tmp_path / "cut" / "ckpt"
    assert read_marker(ckpt)["completed_steps"] == 6  # type: ignore[index]
    grads = load_file(str(ckpt / "hookpipe-grads-0.safetensors"))  # the window's first batch, listed in the marker
    assert grads and all(g.abs().sum() > 0 for g in grads.values()) and checkpoint_problem(ckpt) is None

    changed = _run(tmp_path / "cut", PIPE, "--resume", "latest", "--set", "trainer.grad_accumulation=4")
    assert changed.returncode != 0
    assert "trainer.grad_accumulation changed from 2 to 4, and the checkpoint was written inside an accumulation " \
           "window" in changed.stderr

    resumed = _run(tmp_path / "cut", PIPE, "--resume", "latest")  # from step 6 on: the signal's step is past
    assert resumed.returncode == 0 and "(resumed from ckpt)" in resumed.stdout, resumed.stderr
    final = [load_file(str(tmp_path / side / "ckpt" / "model.safetensors")) for side in ("whole", "cut")]
    assert final[0].keys() == final[1].keys()
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0])
