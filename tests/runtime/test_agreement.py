"""Every rank must run the main process's Plan; HP109 is enforced at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.plan.plan_hooks import build_plan_hooks
from tests.helpers import launch_two
from tests.runtime.planbuild import entry, hook, plan, tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=16, max_step=4) + """\
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
    done = launch_two("tests.runtime.rankrun", "a.pipe", "b.pipe", cwd=tmp_path, timeout=120)
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
