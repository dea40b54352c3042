"""``loss_log``: each line is the mean over every step since the previous line, and over every process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from tests.helpers import launch_two
from tests.runtime import trackinglib
from tests.runtime.planbuild import tiny_trainer_text

ONE = """use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
""" + tiny_trainer_text(n=16, max_step=8, seed=0, progress=False) + """\
hook optimize = optimizer()
hook losses   = t.LossRecorder()
hook show     = loss_log(window = 2)
loop { epoch { step { after {
    optimize
    losses
    show every 2 steps
} } } }
"""

LINE = re.compile(r"^step (\d+): loss (\d+\.\d{4})$", re.M)


def lines(out: str) -> list[tuple[int, float]]:
    return [(int(step), float(loss)) for step, loss in LINE.findall(out)]


def test_each_line_is_the_mean_of_every_step_since_the_previous_one(capsys: pytest.CaptureFixture[str]) -> None:
    trackinglib.LOSSES.clear()
    trainer = HookBasedTrainer.from_plan(compile_text(ONE, "one.pipe"))
    trainer()
    losses = list(trackinglib.LOSSES)
    assert len(losses) == 8
    # Fired after steps 2, 4, 6, 8; a line every second firing: after steps 4 and 8,
    # each the mean of the four steps since the previous line (not of the two firings).
    first, second = sum(losses[:4]) / 4, sum(losses[4:]) / 4
    assert lines(capsys.readouterr().out) == [(4, round(first, 4)), (8, round(second, 4))]
    assert trainer.hook_instances["show"].last_mean == pytest.approx(second, rel=1e-12)


def test_the_sum_since_the_last_line_is_checkpointed(tmp_path: Path) -> None:
    text = ONE.replace("    show every 2 steps\n", "    show every 2 steps\n    save every 6 steps\n").replace(
        "hook show", f'hook save     = checkpoint(dir = "{tmp_path}")\nhook show')
    plan = compile_text(text, "one.pipe")
    full = HookBasedTrainer.from_plan(plan)
    full()
    from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig

    resumed = HookBasedTrainer.from_plan(plan, resume_from=ResumeCheckpointConfig(
        resume_from=str(tmp_path / "step-00000006")))
    resumed()  # steps 7 and 8, and the line after step 8 covers steps 5 to 8
    assert resumed.hook_instances["show"].last_mean == full.hook_instances["show"].last_mean


TWO = """use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
""" + tiny_trainer_text(n=24, max_step=6, seed=0, dataloader="h.tiny_loader(n = 24, batch_size = 2, shuffle = true)",
                        batch_processor="t.rank_local_mse()") + """\
hook optimize = optimizer()
hook losses   = t.LossFile(path = "losses")
hook show     = loss_log(window = 3)
hook chief    = loss_log(window = 2)
loop { epoch { step { after {
    optimize
    losses
    show
    chief on main
} } } }
"""


@pytest.mark.slow
def test_with_two_processes_a_line_is_the_mean_over_both_and_on_main_the_main_process_s(tmp_path: Path) -> None:
    (tmp_path / "two.pipe").write_text(TWO)
    done = launch_two("hookpipe.runtime.run", "two.pipe", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rank0, rank1 = ([float(x) for x in (tmp_path / f"losses.{r}").read_text().split()] for r in (0, 1))
    assert len(rank0) == len(rank1) == 6 and rank0 != rank1  # each process kept its own loss

    def both(a: int, b: int) -> float:
        return round((sum(rank0[a:b]) + sum(rank1[a:b])) / (2 * (b - a)), 4)

    def main(a: int, b: int) -> float:
        return round(sum(rank0[a:b]) / (b - a), 4)

    # `show` (window 3, every process): steps 3 and 6; `chief` (window 2, on main): 2, 4, 6.
    assert lines(done.stdout) == [(2, main(0, 2)), (3, both(0, 3)), (4, main(2, 4)), (6, both(3, 6)), (6, main(4, 6))]
