"""``hookpipe run FILE --processes N``: hookpipe starts the processes, reports once, stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, launch_env
from tests.runtime.planbuild import tiny_trainer_text

pytestmark = pytest.mark.slow

PIPE = """use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(n=400, max_epoch="EPOCHS", seed=0, progress=False, cpu=True) + """\
hook optimize = optimizer()
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader())
hook stop     = early_stop(monitor = "MONITOR")
hook pids     = r.PidFile(path = "PIDS")
hook save     = checkpoint(dir = "CKPT")
loop {
    before { pids }
    epoch {
        step { after { optimize } }
        after { evaluate -> stop -> save }
    }
}
"""


def write(tmp: Path, monitor: str = "evaluate.mse", epochs: int = 1) -> Path:
    path = tmp / "train.pipe"
    text = PIPE.replace("MONITOR", monitor).replace('"EPOCHS"', str(epochs)).replace("EPOCHS", str(epochs))
    path.write_text(text.replace("PIDS", str(tmp / "pid")).replace("CKPT", str(tmp / "ckpt")), encoding="utf-8")
    return path


def command(path: Path) -> list[str]:
    return [sys.executable, "-m", "hookpipe.cli", "run", str(path), "--processes", "2"]


def test_an_error_every_process_has_is_printed_once_and_exits_1(tmp_path: Path) -> None:
    done = subprocess.run(command(write(tmp_path, monitor="evaluate.mes")), cwd=ROOT, env=launch_env(),
                          capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out and "ChildFailedError" not in out
    assert out.count("hook 'stop' monitors `evaluate.mes`, but the sanity validation before the first step") == 1
    assert "did you mean `evaluate.mse`?" in out


def test_sigterm_to_the_parent_stops_every_worker_and_exits_143(tmp_path: Path) -> None:
    path = write(tmp_path, epochs=1000)
    proc = subprocess.Popen(command(path), cwd=ROOT, env=launch_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    pid_files = [Path(f"{tmp_path / 'pid'}.{rank}") for rank in (0, 1)]
    deadline = time.monotonic() + 240
    while not all(p.exists() and p.read_text() for p in pid_files):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    workers = [int(p.read_text()) for p in pid_files]
    time.sleep(1.0)  # training
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, out + err
    assert "Traceback" not in out + err
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # Each worker finished its step and the run checkpointed, as one process does on SIGTERM; every
    # process stopped alike, so the main process says it, once (docs/runtime.md), and the launcher's
    # own "Received 15 death signal" warning is not shown.
    stopped = [line for line in err.splitlines() if "stopped by SIGTERM after" in line]
    assert len(stopped) == 1 and stopped[0].startswith("[rank 0] hookpipe run: "), err
    assert "death signal" not in err, err
    assert any((tmp_path / "ckpt").glob("step-*"))


RANK_LOSS = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=8, max_step=3, seed=0, progress=False, cpu=True, batch_processor="h.RankLoss()") + """hook optimize = optimizer()
loop { epoch { step { after { optimize } } } }
"""


def test_the_summary_s_final_loss_is_the_mean_over_processes(tmp_path: Path) -> None:
    path = tmp_path / "train.pipe"
    path.write_text(RANK_LOSS, encoding="utf-8")
    done = subprocess.run(command(path), cwd=ROOT, env=launch_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # Rank 0's loss is 1, rank 1's is 101: the summary gives their mean, as log() does, not rank 0's own.
    summary = [line for line in done.stdout.splitlines() if "final loss" in line]
    assert len(summary) == 1 and "; final loss 51.0000;" in summary[0], done.stdout + done.stderr
