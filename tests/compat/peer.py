"""Running :mod:`tests.compat.scenario` on either implementation.

The seed runs in RoboOrchard Lab 0.4.0's own venv, the one ``benchmarks.peers``
installs (``python -m benchmarks.peers``; the first install takes about 7 minutes
on two cores). The differential tests build it on first use and fail, saying why,
when it cannot be installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from benchmarks.peers import PEERS, ensure, python_of

SCENARIO = Path(__file__).with_name("scenario.py")
ROOT = Path(__file__).resolve().parents[2]


@cache
def seed_python() -> str:
    peer = PEERS["robo_orchard_lab"]
    ok, why = ensure(peer)
    if not ok:
        pytest.fail(f"RoboOrchard Lab 0.4.0's venv could not be installed: {why}")
    return str(python_of(peer))


def run_script(script: Path, impl: str, choice: list[str], out: Path, resume: Path | None = None) -> dict[str, Any]:
    """Run ``script`` (``--impl IMPL CHOICE... --out OUT``) on either implementation; its ``result.json``."""
    python = seed_python() if impl == "seed" else sys.executable
    command = [python, str(script), "--impl", impl, *choice, "--out", str(out)]
    if resume is not None:
        command += ["--resume", str(resume)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{impl} {' '.join(choice)} failed:\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return result


def run(impl: str, case: str, out: Path, resume: Path | None = None) -> dict[str, Any]:
    """Run the scenario; its result with ``out`` replaced by ``<out>`` in log text."""
    result = run_script(SCENARIO, impl, ["--case", case], out, resume)
    result["logs"] = [[n, lvl, msg.replace(str(out), "<out>")] for n, lvl, msg in result["logs"]]
    return result
