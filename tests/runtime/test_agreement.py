"""Every rank must run the main process's Plan; HP109 is enforced at run time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.plan_hooks import build_plan_hooks
from tests.helpers import ROOT, free_port
from tests.runtime.planbuild import entry, hook, plan

PIPE = """use h = "tests.runtime.hooklib"
trainer {
    max_step        = 4
    model           = h.tiny_model()
    dataloader      = h.tiny_loader(n = 16, batch_size = 2)
    optimizer       = "torch.optim.SGD"(lr = 0.01)
    batch_processor = h.MSE()
}
hook optimize = optimizer()
hook record   = h.FileRecorder(path = "calls", tag = "step")
loop { epoch { step { after {
    optimize
    record EVERY
} } } }
"""


@pytest.mark.slow
def test_a_rank_with_a_different_pipe_file_stops_before_the_first_step(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a.pipe").write_text(PIPE.replace(" EVERY", ""))
    (tmp_path / "b.pipe").write_text(PIPE.replace(" EVERY", " every 2 steps"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--main_process_port", str(free_port()), "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "tests.runtime.rankrun", "a.pipe", "b.pipe"]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "rank(s) 1 differ from the main process" in done.stderr, done.stderr[-3000:]
    assert not list(tmp_path.glob("calls*"))  # no step ran anywhere


def _collective_on_main():
    return plan(
        {"max_step": 1},
        [hook("save", "checkpoint", {"dir": "x"}, builtin=True, line=7)],
        [entry("save", "step", "after", main=True, line=9)],
    )


def test_on_main_collective_is_refused_before_training_with_several_processes() -> None:
    with pytest.raises(PlanResolveError, match=r"HP109: hook 'save' \(checkpoint\) is attached `on main` at test.pipe:9"):
        build_plan_hooks(_collective_on_main(), is_main=True, num_processes=2)
    # One process has nobody to hang: allowed.
    build_plan_hooks(_collective_on_main(), is_main=True, num_processes=1)
