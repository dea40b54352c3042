"""The Python work a framework adds per training step, counted (``python -m benchmarks.step_work``).

Timings on a shared or throttled machine drift by more than what a framework adds
to a 300 µs step. The interpreter's own count of what it executes does not: under
``sys.settrace`` with opcode events, each contender trains the runtime benchmark's
workload for 100 and for 300 steps, and the difference over 200 steps is its
Python opcodes and Python-level calls per step. The hand-written loop's count is
the floor; what a framework adds over it is its per-step cost in Python, the part
that stays when a GPU does the arithmetic. (C work, e.g. inside torch's
operators, is not counted; it is the same for every contender here.)

Each contender runs in its own interpreter (the peers in their venvs, see
:mod:`benchmarks.peers`), one torch thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.runtime.driver import ROOT, Contender, contenders, interpreter

__all__ = ["count", "measure", "section"]


def count(target: str, k: int = 0) -> dict[str, float]:
    """In this process: opcodes and calls per step of ``module:function`` (a contender's ``run``)."""
    import importlib

    import torch

    torch.set_num_threads(1)
    name, _, attr = target.partition(":")
    run = getattr(importlib.import_module(name), attr)
    totals = [0, 0]

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            totals[0] += 1
        elif event == "call":
            totals[1] += 1
        return tracer

    def traced(steps: int) -> tuple[int, int]:
        totals[:] = [0, 0]
        sys.settrace(tracer)
        try:
            run(k, False, 0, steps)
        finally:
            sys.settrace(None)
        return totals[0], totals[1]

    traced(20)  # one-off costs (imports, first calls) stay out of the difference
    a, b = traced(100), traced(300)
    return {"opcodes": (b[0] - a[0]) / 200, "calls": (b[1] - a[1]) / 200}


def measure(k: int = 0) -> list[tuple[Contender, dict[str, float] | None]]:
    """Every contender's counts, each in its own interpreter (None where it could not run)."""
    out: list[tuple[Contender, dict[str, float] | None]] = []
    for c in contenders():
        python = str(interpreter(c))
        if not Path(python).exists():
            out.append((c, None))
            continue
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
        done = subprocess.run([python, "-m", "benchmarks.step_work", "--one", c.target, "--k", str(k)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        out.append((c, json.loads(lines[-1]) if done.returncode == 0 and lines else None))
    return out


def section(results: list[tuple[Contender, dict[str, float] | None]]) -> str:
    base = results[0][1]
    out = [
        "## Python work per step (counted, independent of the machine's load)",
        "",
        "Python opcodes and Python-level calls per training step, counted with `sys.settrace` "
        "(`python -m benchmarks.step_work`): each contender trains the table's workload (K=0) for 100 and for 300 "
        "steps, and the difference is divided by 200. The hand-written loop is the floor.",
        "",
        "| contender | opcodes / step | over (a) | Python calls / step | over (a) |",
        "|---|---:|---:|---:|---:|",
    ]
    for c, r in results:
        if r is None or base is None:
            out.append(f"| ({c.key}) {c.label} | — | | — | |")
            continue
        out.append(f"| ({c.key}) {c.label} | {r['opcodes']:.0f} | {r['opcodes'] - base['opcodes']:+.0f} | "
                   f"{r['calls']:.1f} | {r['calls'] - base['calls']:+.1f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.step_work")
    p.add_argument("--one", help="count one contender (module:function) in this interpreter and print JSON")
    p.add_argument("--k", type=int, default=0, help="extra no-op hooks per step")
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(count(args.one, args.k)))
        return 0
    print(section(measure(args.k)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
