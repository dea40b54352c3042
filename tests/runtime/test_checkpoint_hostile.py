"""Checkpoints written by someone else (issue 23): every JSON hookpipe reads back goes through
``fileaccess.read_json``; marker entries stay inside their folder; one run per checkpoint folder."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hookpipe.profiling import ProfileError, read_profile
from hookpipe.runtime.checkpoints import checksum
from hookpipe.runtime.checkpoints.resume import MARKER, checkpoint_problem
from hookpipe.runtime.checkpoints.resume_changes import PLAN_FILE, read_plan
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.run import run_file
from hookpipe.runtime.run_lock import LOCK_NAME, FolderInUse, RunLock
from tests.runtime.test_checkpoint_integrity import newest, two_checkpoints  # noqa: F401 (a fixture)

DEEP = "[" * 5000 + "]" * 5000


def _damage_marker(folder: Path, how: str) -> None:
    marker = folder / MARKER
    marker.unlink()
    if how == "fifo":
        os.mkfifo(marker)
    elif how == "dev-zero":
        marker.symlink_to("/dev/zero")
    elif how == "deep":
        marker.write_text(DEEP)
    elif how == "not-json":
        marker.write_text("{")


@pytest.mark.parametrize("how, reason", [
    ("fifo", f"its {MARKER} is a FIFO (named pipe), not a regular file"),
    ("dev-zero", f"its {MARKER} is a character device, not a regular file"),
    ("deep", f"its {MARKER} nests deeper than 64 levels"),
    ("not-json", f"its {MARKER} is not a JSON file"),
])
def test_resume_latest_skips_a_damaged_newest_marker_with_one_line(
        two_checkpoints: Path, capsys: pytest.CaptureFixture[str], how: str, reason: str) -> None:  # noqa: F811
    _damage_marker(newest(two_checkpoints), how)
    start = time.monotonic()
    assert run_file(str(two_checkpoints), ["trainer.max_step=10"], "latest") == 0
    assert time.monotonic() - start < 120  # no hang on the FIFO, no endless read of /dev/zero
    err = capsys.readouterr().err
    skipped = [line for line in err.splitlines() if "skipping" in line]
    assert len(skipped) == 1 and skipped[0].startswith(f"hookpipe: --resume latest: skipping {newest(two_checkpoints)}: "
                                                       f"{reason}"), err
    assert "Traceback" not in err and "RecursionError" not in err


@pytest.mark.parametrize("entry, reason", [
    ("/etc/hostname", "its marker's entry for '/etc/hostname' is malformed"),
    ("../x", "its marker's entry for '../x' is malformed"),
    ("a/../../x", "its marker's entry for 'a/../../x' is malformed"),
])
def test_marker_entries_outside_the_folder_are_refused_unprobed(two_checkpoints: Path, monkeypatch,  # noqa: F811
                                                                 entry: str, reason: str) -> None:
    folder = newest(two_checkpoints)
    marker = json.loads((folder / MARKER).read_text())
    marker["files"] = {entry: {"size": 1, "xxh3_128": "0" * 32}}
    (folder / MARKER).write_text(json.dumps(marker))
    hashed: list[Path] = []
    monkeypatch.setattr(checksum, "digest_file", lambda path, algorithm="": hashed.append(path) or "")
    problem = checkpoint_problem(folder)
    assert problem is not None and problem.startswith(reason)
    assert hashed == []


def test_a_symlink_out_of_the_folder_is_never_hashed(two_checkpoints: Path, monkeypatch) -> None:  # noqa: F811
    folder = newest(two_checkpoints)
    (folder / "leak").symlink_to("/etc/hostname")
    # the attacker's marker lists the link by a relative name
    marker = json.loads((folder / MARKER).read_text())
    marker["files"]["leak"] = {"size": 1, "xxh3_128": "0" * 32}
    (folder / MARKER).write_text(json.dumps(marker))
    hashed: list[Path] = []
    real = checksum.digest_file
    monkeypatch.setattr(checksum, "digest_file", lambda path, algorithm=checksum.KEY: hashed.append(path) or
                        real(path, algorithm))
    assert checkpoint_problem(folder) == "leak points outside the checkpoint folder"
    assert all(p.name != "leak" for p in hashed)


@pytest.mark.parametrize("content, message", [
    ('{"hooks": 5}', "not a hookpipe plan"),
    ("[1, 2]", "not a hookpipe plan"),
    ('{"version": 1, "name": null, "source": "x", "trainer": {}, "hooks": [{"name": 1}], "phases": []}',
     "not a hookpipe plan"),
    (DEEP, "nests deeper than 64 levels"),
])
def test_a_forged_plan_record_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / PLAN_FILE).write_text(content)
    with pytest.raises(PlanResolveError, match=message):
        read_plan(tmp_path)


def test_a_forged_plan_file_given_to_run_is_one_clear_line(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "forged.json"
    plan.write_text('{"hooks": 5}')
    assert run_file(str(plan), [], None) == 1
    err = capsys.readouterr().err
    assert "not a hookpipe plan" in err and "Traceback" not in err and "TypeError:" not in err.split("(")[0]


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text(DEEP), "nests deeper than 64 levels"),
    (lambda p: os.mkfifo(p), "is a FIFO (named pipe), not a regular file"),
    (lambda p: p.symlink_to("/dev/zero"), "is a character device, not a regular file"),
])
def test_a_hostile_profile_is_a_profile_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.profile.json"
    make(path)
    with pytest.raises(ProfileError, match=re.escape(message)):
        read_profile(str(path))


# --- one run per checkpoint folder ---------------------------------------------------------

HOLDER = "import sys, time\nfrom hookpipe.runtime.run_lock import RunLock\nRunLock(sys.argv[1]).acquire()\n" \
         "print('held', flush=True)\ntime.sleep(120)\n"


@pytest.mark.slow  # starts a second process that holds the lock
def test_a_second_run_into_a_held_folder_is_refused_naming_the_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderInUse, match=rf"is in use by another run \(host '[^']+', pid {holder.pid}, "
                                              r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)"):
            RunLock(tmp_path).acquire()
        holder.send_signal(signal.SIGKILL)  # a run killed without cleanup leaves its lock behind
        holder.wait(30)
        assert (tmp_path / LOCK_NAME).exists()
        lock = RunLock(tmp_path)
        lock.acquire()  # same host, pid gone: taken over
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
        lock.release()
        assert not (tmp_path / LOCK_NAME).exists()
        assert [p.name for p in tmp_path.iterdir()] == []  # the stale lock set aside was removed
    finally:
        holder.kill()
        holder.wait(30)


def test_a_lock_from_another_host_is_never_taken_over(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(json.dumps({"host": "elsewhere", "pid": 1, "started": 0, "token": "t"}))
    with pytest.raises(FolderInUse, match=f"host 'elsewhere', pid 1.*delete {tmp_path / LOCK_NAME}"):
        RunLock(tmp_path).acquire()


@pytest.mark.slow  # starts a second process that holds the lock
def test_run_file_refuses_a_folder_another_run_holds(two_checkpoints: Path, capsys) -> None:  # noqa: F811
    folder = two_checkpoints.parent / "ckpt"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = sorted(p.name for p in folder.iterdir())
        assert run_file(str(two_checkpoints), ["trainer.max_step=10"], "latest") == 1
        err = capsys.readouterr().err
        assert f"is in use by another run (host '{os.uname().nodename}', pid {holder.pid}" in err
        assert "Traceback" not in err
        assert sorted(p.name for p in folder.iterdir()) == before  # nothing written, nothing pruned
    finally:
        holder.kill()
        holder.wait(30)


def test_temporary_folder_names_are_unique_per_save(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from hookpipe.runtime.builtins.checkpoint import _temporary_name

    acc = SimpleNamespace(is_main_process=True, num_processes=1, wait_for_everyone=lambda: None)
    first = _temporary_name(acc, tmp_path, "step-00000004")
    (tmp_path / first / "half-written").write_text("x")
    second = _temporary_name(acc, tmp_path, "step-00000004")
    assert first != second and all(n.startswith(".tmp-step-00000004-") for n in (first, second))
    assert not (tmp_path / first).exists()  # an interrupted save's leftover is removed, never reused
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / second).is_dir() and (tmp_path / second).stat().st_mode & 0o777 == 0o777 & ~mask
