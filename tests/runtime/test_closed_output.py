"""A reader of hookpipe's output going away (``hookpipe run ... | head -1``) ends nothing.

The run trains on, writes its checkpoints and exits 0; the rest of its output goes
to ``os.devnull`` (``hookpipe/closed_output.py``, as the ``signal`` module's "Note on
SIGPIPE" advises). The commands that print and exit do the same, without a traceback.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookpipe.closed_output import guarded_output
from tests.helpers import ROOT, launch_env
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
use r = "reader_gone"
""" + tiny_trainer_text(n=8, max_step=12, seed=0, progress=True) + """\
hook optimize = optimizer()
hook show     = loss_log(window = 1)
hook hold     = r.HoldAtFirstStep(marker = "MARKER")
hook save     = checkpoint(dir = "DIR", keep_last = 1)
loop {
    epoch { step { after { optimize -> show -> hold } } }
    after { save }
}
"""

#: Waits after the first step's line until the test has closed its end of the pipe, so
#: every later line is written to a pipe nobody reads (not into the pipe's buffer first).
HOLD = '''
import os
import time


class HoldAtFirstStep:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def on_step_end(self, args) -> None:
        if args.global_step_id == 0:
            deadline = time.monotonic() + 120
            while not os.path.exists(self.marker) and time.monotonic() < deadline:
                time.sleep(0.02)
'''

NOTE = "hookpipe run: standard output was closed by the program reading it; the run carries on"


def write_pipeline(tmp: Path) -> tuple[Path, Path, Path]:
    """(the .pipe file, the checkpoint folder, the marker the test creates once it has closed the pipe)."""
    marker, folder = tmp / "closed", tmp / "ckpt"
    (tmp / "reader_gone.py").write_text(HOLD, encoding="utf-8")
    path = tmp / "train.pipe"
    path.write_text(PIPE.replace("MARKER", str(marker)).replace("DIR", str(folder)), encoding="utf-8")
    return path, folder, marker


def assert_final_checkpoint(folder: Path, steps: int) -> None:
    from hookpipe.runtime.checkpoints.resume import checkpoint_problem

    final = folder / f"step-{steps:08d}"
    assert sorted(p.name for p in folder.iterdir()) == [final.name]
    assert checkpoint_problem(final) is None


def assert_quiet(err: str) -> None:
    for word in ("Traceback", "BrokenPipeError", "Exception ignored", "failed"):
        assert word not in err, err


@pytest.mark.slow
def test_a_run_whose_reader_closes_stdout_after_one_line_trains_on_and_checkpoints(tmp_path: Path) -> None:
    path, folder, marker = write_pipeline(tmp_path)
    err_file = tmp_path / "stderr.txt"
    with open(err_file, "w", encoding="utf-8") as err:
        # Unbuffered, as a reader sees lines the moment they are printed (`| head -1`).
        proc = subprocess.Popen([sys.executable, "-m", "hookpipe.cli", "run", str(path)], cwd=ROOT,
                                env=launch_env({"PYTHONUNBUFFERED": "1"}), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader goes away, as `head -1` does
        marker.write_text("closed", encoding="utf-8")
        code = proc.wait(timeout=300)
    stderr = err_file.read_text(encoding="utf-8")
    assert first.startswith("step 1: loss "), (first, stderr)
    assert code == 0, stderr
    assert_final_checkpoint(folder, 12)
    assert_quiet(stderr)
    assert stderr.count(NOTE) == 1, stderr
    assert "step 12/12 (100%)" in stderr  # the progress lines on stderr went on to the end


def closed_pipe_run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``args`` with stdout on a pipe whose reader has already gone (``| true`` that won the race)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)


@pytest.mark.slow
def test_a_buffered_run_whose_reader_has_gone_exits_0_without_an_error_at_shutdown(tmp_path: Path) -> None:
    # Python buffers stdout on a pipe: the first write to reach the pipe may be the flush
    # at exit, which Python reports as "Exception ignored ..." with exit status 120.
    path, folder, marker = write_pipeline(tmp_path)
    marker.write_text("closed", encoding="utf-8")
    env = {k: v for k, v in launch_env().items() if k != "PYTHONUNBUFFERED"}
    done = closed_pipe_run([sys.executable, "-m", "hookpipe.cli", "run", str(path)], env)
    assert done.returncode == 0, done.stderr
    assert_final_checkpoint(folder, 12)
    assert_quiet(done.stderr)
    assert NOTE in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("buffered", [False, True], ids=["unbuffered", "buffered"])
@pytest.mark.parametrize("command", [["check", "--resolve"], ["lint"], ["explain", "--steps", "8"]],
                         ids=lambda c: c[0])
def test_commands_whose_reader_has_gone_exit_as_usual_and_quietly(tmp_path: Path, command: list[str],
                                                                     buffered: bool) -> None:
    path, _, _ = write_pipeline(tmp_path)
    env = {k: v for k, v in launch_env().items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    args = [sys.executable, "-m", "hookpipe.cli", *command, str(path)]
    usual = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert usual.stdout  # something to write to the closed pipe
    done = closed_pipe_run(args, env)
    assert done.returncode == usual.returncode, (usual.stderr, done.stderr)
    assert done.stderr == usual.stderr
    assert_quiet(done.stderr)


def test_the_guard_sends_the_rest_to_devnull_says_so_once_and_puts_the_streams_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read, write = os.pipe()
    os.close(read)
    stdout = io.TextIOWrapper(io.FileIO(write, "w"), line_buffering=True)
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    try:
        with guarded_output("reader gone"):
            with guarded_output():  # nested: the same guard, the outer note
                print("one")
                print("two")
                sys.stdout.flush()
        assert sys.stdout is stdout and sys.stderr is stderr
        assert stderr.getvalue() == "reader gone\n"
        print("after")  # the descriptor is os.devnull's now: no error at exit either
        stdout.flush()
    finally:
        stdout.close()
