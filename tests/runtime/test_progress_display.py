"""Progress: a bar on a terminal, a line per tenth of the run elsewhere, none with progress = false."""

from __future__ import annotations

import io
import re
from pathlib import Path

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


TERMINAL_PIPE = """use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
""" + tiny_trainer_text(n=40, max_epoch=3, seed=0, cpu=True, progress=True) + """\
hook optimize = optimizer()
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader())
loop { epoch {
    step { after { optimize } }
    after { evaluate }
} }
"""


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``args`` with stdout and stderr on a pseudo-terminal; its exit code and everything it wrote."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    proc = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=child, stderr=child,
                            env={**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1"})
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_on_a_terminal_lines_go_above_the_bar_and_it_ends_at_100_percent(tmp_path: Path) -> None:
    import sys

    from tests.helpers import ROOT

    path = tmp_path / "bar.pipe"
    path.write_text(TERMINAL_PIPE, encoding="utf-8")
    code, out = _on_a_terminal([sys.executable, "-m", "hookpipe.cli", "run", str(path), "--no-lint"], ROOT)
    assert code == 0, out
    assert "Traceback" not in out
    # Each line as the terminal shows it: what follows the last carriage return.
    shown = [line.rsplit("\r", 1)[-1] for line in out.replace("\r\n", "\n").split("\n")]
    validations = [line for line in shown if "validation after" in line]
    # 40 samples in batches of 2: 20 steps per epoch, validated after each of the 3 epochs.
    assert [line.split(" (epoch")[0] for line in validations] == [
        "validation after 20 steps", "validation after 40 steps", "validation after 60 steps"]
    # Written above the bar: never on a line the bar had drawn on.
    assert all(line.startswith("validation after") for line in validations)
    bars = [segment for segment in out.split("\r") if "step/s" in segment or "/60" in segment]
    assert bars and "60/60" in bars[-1] and "100%" in bars[-1]
    # At each epoch's end the bar shows the steps its validation line says, before the line goes above it.
    for n in (20, 40):
        before = out.split(f"validation after {n} steps")[0].split("\r")
        assert f"{n}/60" in [segment for segment in before if "/60" in segment][-1]
    assert "bar.pipe: 60 steps, 3 epochs in" in out
