"""Progress: a bar on a terminal, a line per tenth of the run elsewhere, none with progress = false."""

from __future__ import annotations

import io
import re

import pytest
import torch

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.tracking.progress_display import ProgressDisplay
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """pipeline "p"
use h = "tests.runtime.hooklib"

""" + tiny_trainer_text(n=10, max_step=40, cpu=True, progress="PROGRESS") + """
hook optimize = optimizer()

loop { epoch { step { after { optimize } } } }
"""

LINE = re.compile(r"^step (\d+)/40 \((\d+)%\): loss \d+\.\d{4}, [\d.]+ steps/s, ETA \d+:\d\d:\d\d$")


def test_plain_lines_every_tenth_of_the_run() -> None:
    out = io.StringIO()
    display = ProgressDisplay(40, stream=out, interactive=False)
    for done in range(1, 41):
        display.update(done, torch.tensor(0.5))
    lines = out.getvalue().splitlines()
    assert [int(LINE.match(line).group(1)) for line in lines] == list(range(4, 41, 4))
    assert lines[-1].startswith("step 40/40 (100%): loss 0.5000")


def test_a_resumed_run_counts_from_where_it_was() -> None:
    out = io.StringIO()
    display = ProgressDisplay(40, start=30, stream=out, interactive=False)
    for done in range(31, 41):
        display.update(done, 1.0)
    assert [int(LINE.match(line).group(1)) for line in out.getvalue().splitlines()] == list(range(31, 41))


def test_the_bar_shows_the_loss_and_closes() -> None:
    out = io.StringIO()
    display = ProgressDisplay(40, stream=out, interactive=True)
    for done in range(1, 41):
        display.update(done, torch.tensor(0.25))
    display.close()
    text = out.getvalue()
    assert "loss=0.2500" in text and "/40" in text and "step/s" in text


@pytest.mark.parametrize("progress, lines", [("true", 10), ("false", 0)])
def test_a_plan_run_shows_progress_unless_turned_off(capsys: pytest.CaptureFixture[str], progress: str, lines: int) -> None:
    HookBasedTrainer.from_plan(compile_text(PIPE.replace("PROGRESS", progress), "p.pipe"))()
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if LINE.match(line)]) == lines
