"""Two processes that disagree, or where only one is signalled: every rank ends, promptly and clearly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, launch_env, launch_two, two_process_command
from tests.runtime.planbuild import entry, hook, plan, tiny_trainer


def plan_file(tmp_path: Path, p: object) -> str:
    path = tmp_path / "plan.json"
    path.write_text(p.to_json(), encoding="utf-8")  # type: ignore[attr-defined]
    return str(path)


def launch(tmp_path: Path, p: object, timeout: int = 150) -> tuple[int, str, float]:
    start = time.perf_counter()
    done = launch_two("hookpipe.runtime.run", plan_file(tmp_path, p), timeout=timeout)
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - start


@pytest.mark.slow
def test_ranks_with_different_batch_counts_fail_naming_ranks_and_counts(tmp_path: Path) -> None:
    loader = {"$call": "tests.runtime.hooklib:uneven_loader", "args": {"sizes": [8, 12], "batch_size": 2}}
    p = plan(tiny_trainer(dataloader=loader, max_step=100), [hook("optimize", "optimizer", {}, builtin=True)],
             [entry("optimize", "step", "after")])
    code, out, seconds = launch(tmp_path, p)
    assert code != 0, out
    message = "the processes disagree on the number of batches per epoch (rank 0: 2, rank 1: 3)"
    # Every rank has this error alike, so only the main process says it (once).
    assert f"[rank 0] hookpipe run: {tmp_path / 'plan.json'}: {message}" in out, out
    assert out.count(message) == 1, out
    # the launcher prints its own report of failed workers; no trace comes from hookpipe
    assert f'File "{ROOT / "hookpipe"}' not in out, out


@pytest.mark.slow
def test_sigterm_on_one_rank_stops_every_rank_with_143(tmp_path: Path) -> None:
    loader = {"$call": "tests.runtime.hooklib:tiny_loader", "args": {"n": 400, "batch_size": 2}}
    p = plan(tiny_trainer(dataloader=loader, max_step=150),
             [hook("optimize", "optimizer", {}, builtin=True),
              hook("term", "tests.runtime.hooklib:SignalAt", {"step": 3, "rank": 1}),
              hook("save", "checkpoint", {"dir": str(tmp_path / "ckpt")}, builtin=True)],
             [entry("optimize", "step", "after"), entry("term", "step", "before"),
              entry("save", "step", "after", unit="step", every=1000, at_end=True)])
    code, out, seconds = launch(tmp_path, p)
    # each rank's own exit status, from the launcher's report (the launcher itself exits 1 when any worker fails)
    assert re.findall(r"rank +: (\d) .*?\n.*?exitcode +: (-?\d+)", out, re.S) in (
        [("0", "143"), ("1", "143")], [("1", "143"), ("0", "143")]), out
    stopped = re.findall(r"\[rank (\d)\] hookpipe run: .*: stopped by SIGTERM after (\d+) steps?", out)
    # both ranks stop after the same step (the checkpoint below is written by both together), and
    # say so once, by the main process, which learnt rank 1's reason; rank 1 asked during step 4, and
    # the stop is agreed asynchronously every 8 steps, so 8 to 15 steps later (docs/reliability.md, "Stop latency")
    assert len(stopped) == 1 and stopped[0][0] == "0", out
    step = int(stopped[0][1])
    assert 4 + 8 <= step <= 4 + 15, out
    assert (tmp_path / "ckpt" / f"step-{step:08d}").is_dir()


@pytest.mark.slow
def test_a_rank_blocked_waiting_for_another_still_ends_on_sigterm(tmp_path: Path) -> None:
    marker = tmp_path / "stalled"
    loader = {"$call": "tests.runtime.hooklib:tiny_loader", "args": {"n": 400, "batch_size": 2}}
    p = plan(tiny_trainer(dataloader=loader, max_step=150),
             [hook("optimize", "optimizer", {}, builtin=True),
              hook("stall", "tests.runtime.hooklib:Stall", {"step": 2, "rank": 1, "marker": str(marker)})],
             [entry("optimize", "step", "after"), entry("stall", "step", "before")])
    env = launch_env({"HOOKPIPE_STOP_GRACE_S": "3"})
    proc = subprocess.Popen(two_process_command("hookpipe.runtime.run", plan_file(tmp_path, p)), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.2)
        time.sleep(1)  # rank 0 is now inside the step's collective, waiting for rank 1
        os.killpg(proc.pid, signal.SIGTERM)  # what a scheduler does: every process of the job
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    ended = re.findall(r"\[rank (\d)\] hookpipe run: SIGTERM received and the run did not stop within 3 s", out)
    assert sorted(ended) == ["0", "1"], out
