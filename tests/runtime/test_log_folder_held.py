"""One run per log folder: a run started beside a live one never appends to its ``metrics.csv``.

Two runs started together with one ``log_dir`` (each with its own checkpoint
``dir``) both found the log folder empty and both appended to one ``metrics.csv``:
rows of the two runs mixed, repeated and lost. A live run now holds its log folder
(``checkpoints/place_lock.py``); a run started beside it logs into the next version
and says so, and a run that would continue in the held folder is refused, naming
the holder (docs/runtime.md, "Checkpoint folders of several runs").
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hookpipe.runtime.checkpoints.place_lock import hold_folders, log_lock
from hookpipe.runtime.checkpoints.versions import RunPlace, choose_place
from hookpipe.runtime.run import run_file
from hookpipe.runtime.run_lock import LOCK_NAME, FolderInUse
from tests.helpers import gated_run, launch_env
from tests.runtime.planbuild import tiny_trainer_text

HOLDER = "import sys, time\nfrom hookpipe.runtime.run_lock import RunLock\nRunLock(sys.argv[1]).acquire()\n" \
         "print('held', flush=True)\ntime.sleep(120)\n"

PIPE = """use h = "tests.runtime.hooklib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(n=10, max_step=6, seed=0, cpu=True, progress=False, log_with='["csv"]',
                        log_dir='"runs/logs"') + """\
hook optimize = optimizer()
hook record   = log()
hook save     = checkpoint(dir = "CKPT")
GATE_HOOK
loop {
    epoch {
        step {
            after {
                optimize
                record
                GATE_STEP
            }
        }
        after { save }
    }
}
"""


def write(folder: Path, name: str, ckpt: str, gate: bool = False) -> Path:
    text = PIPE.replace("CKPT", ckpt)
    if gate:
        text = text.replace("GATE_HOOK", f'hook gate     = r.Gate(step = 2, marker = "{folder / "waiting"}", '
                                         f'release = "{folder / "release"}")').replace("GATE_STEP", "gate")
    else:
        text = text.replace("GATE_HOOK\n", "").replace("                GATE_STEP\n", "")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def hookpipe_run(*args: str) -> list[str]:
    return [sys.executable, "-m", "hookpipe.cli", "run", *args]


def logged_steps(path: Path) -> list[int]:
    with path.open(encoding="utf-8", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


@pytest.mark.slow  # two real runs at once
def test_a_run_started_beside_a_live_one_logs_into_its_own_version(tmp_path: Path) -> None:
    first = write(tmp_path, "a.pipe", "runs/a", gate=True)
    second = write(tmp_path, "b.pipe", "runs/b")
    with gated_run(str(first), tmp_path, tmp_path / "waiting", tmp_path / "release") as holder:
        # the first run is live, 3 rows logged, holding runs/logs
        done = subprocess.run(hookpipe_run(str(second)), cwd=tmp_path, env=launch_env(),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        said = [line for line in done.stderr.splitlines() if "this run writes to" in line]
        # Said once (by `hookpipe run`, not logged again), naming the live run.
        assert said == [
            f"hookpipe run: this run writes to runs/b/v1 and runs/logs/v1: another run is writing to runs/logs "
            f"now (host '{os.uname().nodename}', pid {holder.pid}, started " + said[0].split(", started ")[1]
        ], done.stderr
        assert "two runs never share a folder, so nothing there is mixed, replaced or pruned" in said[0]
    runs = tmp_path / "runs"
    assert logged_steps(runs / "logs" / "metrics.csv") == [1, 2, 3, 4, 5, 6]  # the first run's rows only
    assert logged_steps(runs / "logs" / "v1" / "metrics.csv") == [1, 2, 3, 4, 5, 6]
    assert (runs / "b" / "v1" / "step-00000006").is_dir() and (runs / "a" / "step-00000006").is_dir()
    assert not [p for p in runs.rglob(f"{LOCK_NAME}*")]  # both runs let go of their folders


@pytest.mark.slow  # starts a second process that holds the lock
def test_a_run_that_would_continue_in_a_held_log_folder_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "train.pipe", "runs/ckpt")
    assert run_file(str(path), [], None) == 0
    logs = tmp_path / "runs" / "logs"
    before = (logs / "metrics.csv").read_bytes()
    saved = sorted(p.name for p in (tmp_path / "runs" / "ckpt").iterdir())
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(logs)], stdout=subprocess.PIPE, text=True,
                              env=launch_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        capsys.readouterr()
        # Only the limit changes: it would continue its run, in runs/logs, which another live run holds.
        assert run_file(str(path), ["trainer.max_step=8"], "latest") == 1
        err = capsys.readouterr().err
        assert (f"log folder runs/logs is in use by another run (host '{os.uname().nodename}', pid {holder.pid}, "
                in err), err
        assert "give this run another `log_dir` (--set trainer.log_dir=...)" in err
        assert "Traceback" not in err
        assert (logs / "metrics.csv").read_bytes() == before  # nothing appended, nothing cut
        assert sorted(p.name for p in (tmp_path / "runs" / "ckpt").iterdir()) == saved
    finally:
        holder.kill()
        holder.wait(30)


@pytest.fixture
def held(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``tmp_path/logs`` held by another live process."""
    logs = tmp_path / "logs"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(logs)], stdout=subprocess.PIPE, text=True,
                              env=launch_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield logs, holder
    finally:
        holder.kill()
        holder.wait(30)


def test_a_log_folder_a_live_run_holds_counts_as_used_and_a_dead_one_s_does_not(held) -> None:  # type: ignore[no-untyped-def]
    logs, holder = held
    place = choose_place(None, logs, None)
    assert place.version == 1 and not place.continued
    assert place.note is not None and f"another run is writing to {logs} now (" in place.note
    assert f"pid {holder.pid}" in place.note
    holder.send_signal(signal.SIGKILL)  # killed without cleanup: its lock stays, its holder is gone
    holder.wait(30)
    assert (logs / LOCK_NAME).exists()
    again = choose_place(None, logs, None)  # only a lock in it, and its holder gone: an unused folder
    assert (again.version, again.note) == (None, None)


def test_a_version_taken_between_the_choice_and_the_lock_is_chosen_again(held) -> None:  # type: ignore[no-untyped-def]
    logs, _ = held
    choices = iter([RunPlace(None, "run"), RunPlace(1, "run")])  # the first as if chosen before the holder came
    place, (lock,) = hold_folders(lambda: next(choices), lambda p: [log_lock(p, logs)])
    assert place.version == 1 and (logs / "v1" / LOCK_NAME).exists()
    lock.release()
    assert not (logs / "v1").exists()  # a version folder the run left empty is not kept


def test_a_continued_run_never_moves_out_of_its_held_log_folder(held) -> None:  # type: ignore[no-untyped-def]
    logs, holder = held
    with pytest.raises(FolderInUse, match=rf"log folder {logs} is in use by another run \(host '[^']+', "
                                          rf"pid {holder.pid}, "):
        hold_folders(lambda: RunPlace(None, "run", continued=True), lambda p: [log_lock(p, logs)])
