"""Machine instructions per training step, counted (``python -m benchmarks.instructions``).

The timing table's ratios move with the machine's load by more than 5%, the
margin a framework's fixed cost is judged by. The instructions a step executes do
not: under valgrind's ``callgrind`` each contender trains the table's workload
(K=0) for 100 and for 300 steps in two processes, and the difference of the two
totals over 200 steps is the instructions of one step, everything included (the
interpreter, torch's C++ operators, the framework). Their ratio to the hand-written
loop's is the machine-independent form of the timing table's K=0 column; what it
leaves out is time spent waiting on memory, which the timing table shows.

Needs ``valgrind`` on ``PATH`` (the section says so when it is missing). A run is
slow (valgrind executes about fifty times slower, most of it importing torch): about
two minutes per process here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from benchmarks.processor import ONLY as processor_contenders
from benchmarks.runtime.driver import ROOT, Contender, contenders, interpreter
from benchmarks.runtime.workload import PROCESSOR_ENV

__all__ = ["STEPS", "measure", "one", "section"]

#: The two run lengths whose difference is measured.
STEPS = (100, 300)
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def one(target: str, steps: int) -> None:
    """In this process (under valgrind): train ``module:function`` for ``steps`` steps."""
    import importlib

    import torch

    torch.set_num_threads(1)
    name, _, attr = target.partition(":")
    getattr(importlib.import_module(name), attr)(0, False, 0, steps)


def _instructions(python: str, target: str, steps: int, processor: str = "simple") -> int | None:
    """Instructions of one whole process training ``steps`` steps (None if it failed)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0", PYTHONPATH=str(ROOT),
               **{PROCESSOR_ENV: processor})
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           python, "-m", "benchmarks.instructions", "--one", target, "--steps", str(steps)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    found = _COLLECTED.findall(done.stderr)
    return int(found[-1]) if done.returncode == 0 and found else None


def measure(processor: str = "simple", only: set[str] | None = None) -> list[tuple[Contender, float | None]]:
    """Every contender's instructions per step (None where it could not run).

    ``processor="custom"``: hookpipe's contenders run the custom-processor workload
    (a ``BatchProcessorMixin`` implementing ``__call__``); ``only``: these keys.
    """
    out: list[tuple[Contender, float | None]] = []
    for c in contenders():
        if only is not None and c.key not in only:
            continue
        python = str(interpreter(c))
        if not Path(python).exists():
            out.append((c, None))
            continue
        short, long = (_instructions(python, c.target, n, processor) for n in STEPS)
        per_step = (long - short) / (STEPS[1] - STEPS[0]) if short is not None and long is not None else None
        out.append((c, per_step))
    return out


def available() -> bool:
    return shutil.which("valgrind") is not None


def section(results: list[tuple[Contender, float | None]] | None, processor: str = "simple") -> str:
    custom = processor == "custom"
    out = [
        "## Instructions per step" + (", custom-processor workload" if custom else "")
        + " (counted, independent of the machine's load)",
        "",
        "Machine instructions per training step under valgrind's callgrind (`python -m benchmarks.instructions"
        + (" --processor custom" if custom else "") + "`): "
        + ("hookpipe's contenders run a `BatchProcessorMixin` implementing `__call__`; " if custom else "")
        + f"each contender trains the table's workload (K=0) for {STEPS[0]} and for {STEPS[1]} steps, each in its own "
        f"process, and the difference is divided by {STEPS[1] - STEPS[0]}. Everything a step executes is counted: "
        "the interpreter, torch's operators, the framework. The ratio is the timing table's K=0 column without "
        "the machine's load in it (time spent waiting on memory is not counted).",
        "",
    ]
    if results is None:
        out.append("Not measured: `valgrind` is not installed on this machine.")
        return "\n".join(out)
    base = results[0][1]
    out += ["| contender | instructions / step | ratio to (a) | over (a) |", "|---|---:|---:|---:|"]
    for c, r in results:
        if r is None or base is None:
            out.append(f"| ({c.key}) {c.label} | — | | |")
            continue
        out.append(f"| ({c.key}) {c.label} | {r:,.0f} | {r / base:.3f} | {r - base:+,.0f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    p.add_argument("--one", help="train one contender (module:function) in this interpreter")
    p.add_argument("--steps", type=int, default=STEPS[0])
    p.add_argument("--json", action="store_true", help="print the measurements as JSON instead of the section")
    p.add_argument("--processor", choices=("simple", "custom"), default="simple",
                   help="custom: the custom-processor workload, its four contenders")
    args = p.parse_args(argv)
    if args.one:
        one(args.one, args.steps)
        return 0
    only = processor_contenders if args.processor == "custom" else None
    results = measure(args.processor, only) if available() else None
    if args.json:
        print(json.dumps(None if results is None else {c.key: r for c, r in results}))
    else:
        print(section(results, args.processor))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
