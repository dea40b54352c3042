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

The last column counts the distinct Python functions a step runs that the
hand-written loop's step does not (those called at least once per step). On a
small model's step the code and data of each such function are cold again at the
next step, so this count tracks a framework's per-step time better than its
opcodes do. ``--processor custom`` counts the custom-processor workload
(``python -m benchmarks processor``): hookpipe's contenders run a
``BatchProcessorMixin`` implementing ``__call__``.
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
from benchmarks.runtime.workload import PROCESSOR_ENV

__all__ = ["count", "measure", "section"]


def _function_name(code: Any) -> str:
    """A function's name that is the same in every venv: its file below ``site-packages``, line, qualified name."""
    path = code.co_filename.replace("\\", "/")
    for marker in ("site-packages/", "/lib/python"):
        if marker in path:
            path = path.rsplit(marker, 1)[1]
            break
    else:
        path = Path(path).name
    return f"{path}:{code.co_firstlineno}:{code.co_qualname}"


def count(target: str, k: int = 0) -> dict[str, Any]:
    """In this process: opcodes and calls per step of ``module:function`` (a contender's ``run``),
    and the functions called at least once per step."""
    import importlib
    from collections import Counter

    import torch

    torch.set_num_threads(1)
    name, _, attr = target.partition(":")
    run = getattr(importlib.import_module(name), attr)
    totals = [0, 0]
    calls: Counter[Any] = Counter()

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            totals[0] += 1
        elif event == "call":
            totals[1] += 1
            calls[frame.f_code] += 1
        return tracer

    def traced(steps: int) -> tuple[int, int, Counter[Any]]:
        totals[:] = [0, 0]
        calls.clear()
        sys.settrace(tracer)
        try:
            run(k, False, 0, steps)
        finally:
            sys.settrace(None)
        return totals[0], totals[1], Counter(calls)

    traced(20)  # one-off costs (imports, first calls) stay out of the difference
    a, b = traced(100), traced(300)
    every_step = sorted({_function_name(code) for code, n in b[2].items() if n - a[2][code] >= 200})
    return {"opcodes": (b[0] - a[0]) / 200, "calls": (b[1] - a[1]) / 200, "functions": every_step}


def measure(k: int = 0, processor: str = "simple") -> list[tuple[Contender, dict[str, Any] | None]]:
    """Every contender's counts, each in its own interpreter (None where it could not run).

    ``processor="custom"``: hookpipe's contenders run the custom-processor workload.
    """
    out: list[tuple[Contender, dict[str, Any] | None]] = []
    for c in contenders():
        python = str(interpreter(c))
        if not Path(python).exists():
            out.append((c, None))
            continue
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), **{PROCESSOR_ENV: processor})
        done = subprocess.run([python, "-m", "benchmarks.step_work", "--one", c.target, "--k", str(k)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        out.append((c, json.loads(lines[-1]) if done.returncode == 0 and lines else None))
    return out


def section(results: list[tuple[Contender, dict[str, Any] | None]], processor: str = "simple") -> str:
    base = results[0][1]
    workload = "the table's workload (K=0)" if processor == "simple" else (
        "the custom-processor workload (hookpipe's contenders: a `BatchProcessorMixin` implementing `__call__`)")
    title = "Python work per step" if processor == "simple" else "Python work per step, custom-processor workload"
    out = [
        f"## {title} (counted, independent of the machine's load)",
        "",
        "Python opcodes and Python-level calls per training step, counted with `sys.settrace` "
        f"(`python -m benchmarks.step_work --processor {processor}`): each contender trains {workload} for 100 "
        "and for 300 steps, and the difference is divided by 200. The hand-written loop is the floor. The last "
        "column: distinct Python functions a step runs (at least once per step) that the hand-written loop's "
        "step does not.",
        "",
        "| contender | opcodes / step | over (a) | Python calls / step | over (a) | functions beyond (a) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    floor = set(base["functions"]) if base is not None else set()
    for c, r in results:
        if r is None or base is None:
            out.append(f"| ({c.key}) {c.label} | — | | — | | |")
            continue
        out.append(f"| ({c.key}) {c.label} | {r['opcodes']:.0f} | {r['opcodes'] - base['opcodes']:+.0f} | "
                   f"{r['calls']:.1f} | {r['calls'] - base['calls']:+.1f} | {len(set(r['functions']) - floor)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.step_work")
    p.add_argument("--one", help="count one contender (module:function) in this interpreter and print JSON")
    p.add_argument("--k", type=int, default=0, help="extra no-op hooks per step")
    p.add_argument("--processor", choices=("simple", "custom"), default="simple",
                   help="hookpipe's batch processor: a SimpleBatchProcessor, or one implementing __call__")
    p.add_argument("--list", action="store_true", help="also list each contender's functions beyond the hand loop's")
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(count(args.one, args.k)))
        return 0
    results = measure(args.k, args.processor)
    print(section(results, args.processor))
    if args.list and results[0][1] is not None:
        floor = set(results[0][1]["functions"])
        for c, r in results[1:]:
            if r is not None:
                print(f"\n({c.key}) " + " ".join(sorted(set(r["functions"]) - floor)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
