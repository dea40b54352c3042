"""``lint`` and ``check`` on include graphs and on a phase of 99,000 writers: time and peak memory per size.

Run: python -m benchmarks.hostile_includes [--dag 80 160 300] [--writers 25000 50000 99000]
[--code DIR] [--timeout 300]

* An include DAG: in a folder of n files, file i includes every later file (n = 300
  is 1 MB). Linting or checking the folder compiled every file as a root, each with
  all it includes (cubic: 160 files 49 s, 300 files over five minutes); now only
  the one root is compiled.
* Writers: ``parts/big.pipe`` attaches 200 clip hooks (each writes ``grads``) n
  times in one block, and three 50-byte roots include it. HP105 held two bitsets
  of every writer per node (99,000: 2.9 GB, 12 s of lint).

Each command runs in its own process (``--jobs 1``) so its peak memory
(``ru_maxrss``) is its own; the table gives the wall time, the CPU time (the
figure to compare on a machine shared with other work) and the peak. ``--code
DIR`` runs another checkout's ``hookpipe`` (for example ``git archive`` of an
older revision unpacked in DIR) to compare with. ``tests/test_bounded_includes.py``
and ``tests/test_hp105_pairs.py`` check the shape (counts of work), not the time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_PROBE = (
    "import resource, sys, time\n"
    "from hookpipe.cli import main\n"
    "start, cpu = time.perf_counter(), time.process_time()\n"
    "status = main(sys.argv[1:])\n"
    "print('MEASURED', time.perf_counter() - start, time.process_time() - cpu,"
    " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(status)\n"
)
BODY = "hook optimize = optimizer()\nloop { epoch { step { after { optimize } } } }\n"


def write_dag(folder: Path, n: int) -> int:
    """File i includes every later file; returns the folder's size in bytes."""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text("")
    size = 0
    for i in range(n):
        text = "".join(f'include "f{j:04d}.pipe"\n' for j in range(i + 1, n))
        text += (BODY if i == n - 1 else "") + ("trainer { max_step = 10 }\n" if i == 0 else "")
        (folder / f"f{i:04d}.pipe").write_text(text)
        size += len(text)
    return size


def write_writers(folder: Path, n: int) -> int:
    """``parts/big.pipe`` with n attachments of 200 writers in one block, and three roots that include it."""
    (folder / "parts").mkdir(parents=True)
    (folder / "pyproject.toml").write_text("")
    lines = ["hook optimize = optimizer()"]
    lines += [f'hook h{i} = grad_clip(mode = "norm", max_norm = 1.0)' for i in range(200)]
    lines += ["loop { epoch { step { after {", *(f"h{i % 200}" for i in range(n)), "optimize } } } }"]
    text = "\n".join(lines) + "\n"
    (folder / "parts" / "big.pipe").write_text(text)
    for r in range(3):
        (folder / f"r{r}.pipe").write_text(f'include "parts/big.pipe"\ntrainer {{ max_step = {r + 10} }}\n')
    return len(text)


def measure(args: list[str], cwd: Path, code: str | None, timeout: float) -> str:
    """``| wall | CPU | peak |`` cells of one ``hookpipe ARGS`` run in its own process."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = code
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s | | (killed)"
    line = [x for x in done.stderr.splitlines() if x.startswith("MEASURED")]
    if not line:
        return f"failed ({done.returncode}) | | "
    _, wall, cpu, peak = line[-1].split()
    return f"{float(wall):.2f} s | {float(cpu):.2f} s | {int(peak) / 1024:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dag", type=int, nargs="*", default=[80, 160, 300], help="files in the include DAG")
    parser.add_argument("--writers", type=int, nargs="*", default=[25_000, 50_000, 99_000],
                        help="attachments in big.pipe")
    parser.add_argument("--code", help="a checkout to run instead of this one (put on PYTHONPATH)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is killed")
    args = parser.parse_args()
    print("| case | size | command | wall | CPU | peak |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.dag:
            folder = Path(tmp) / f"dag{n}"
            size = write_dag(folder, n)
            for command in (["lint", "--jobs", "1", "."], ["check", "."], ["lint", "f0000.pipe"]):
                shown = " ".join(command).replace(" --jobs 1", "")
                print(f"| DAG of {n} files | {size / 1024:.0f} KB | `{shown}` | "
                      f"{measure(command, folder, args.code, args.timeout)} |", flush=True)
        for n in args.writers:
            folder = Path(tmp) / f"writers{n}"
            size = write_writers(folder, n)
            for command in (["check", "r0.pipe"], ["lint", "--jobs", "1", "--select", "HP105", "r0.pipe"],
                            ["lint", "--jobs", "1", "r0.pipe", "r1.pipe", "r2.pipe"]):
                shown = " ".join(command).replace(" --jobs 1", "")
                print(f"| {n:,} writers | {size / 1024:.0f} KB | `{shown}` | "
                      f"{measure(command, folder, args.code, args.timeout)} |", flush=True)


if __name__ == "__main__":
    main()
