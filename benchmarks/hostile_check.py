"""``hookpipe check`` on the two hostile files that used to take over 20 s.

Run: python -m benchmarks.hostile_check [--rounds 3]

* 20,000 errors: one misspelt argument per line (``loss_log(windw = 1)``), so
  printing 20,000 diagnostics with their source lines is what is measured along
  with compiling;
* 2,000 x 2,000 effects: 2,000 hooks writing ``x`` and 2,000 reading it in one
  phase (a 170 KB file), 4 million effect pairs.

Each file is written to a temporary folder and checked in-process through the
real command line (stderr discarded); the best of ``--rounds`` is printed with
the peak memory of the process (``ru_maxrss``) after all rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import tempfile
import time
from pathlib import Path

from hookpipe.cli import main as cli_main
from hookpipe.commands.common import print_diagnostics
from hookpipe.compiler.pipeline import compile_path

HEAD = 'use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\n'


def errors_file(n: int = 20_000) -> str:
    return HEAD + "".join(f"hook h{i} = loss_log(windw = 1)\n" for i in range(n))


def effects_file(n: int = 2_000) -> str:
    lines = [HEAD]
    lines += [f"hook w{i} = probes.W() {{ writes x }}\n" for i in range(n)]
    lines += [f"hook r{i} = probes.R() {{ reads x }}\n" for i in range(n)]
    lines.append("loop { epoch { step { after {\n" + "".join(f" w{i}\n" for i in range(n))
                 + "".join(f" r{i}\n" for i in range(n)) + "} } } }\n")
    return "".join(lines)


def time_check(path: Path, rounds: int) -> tuple[float, int]:
    best, status = float("inf"), -1
    for _ in range(rounds):
        sink = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
            status = cli_main(["check", str(path)])
        best = min(best, time.perf_counter() - start)
    return best, status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cases = {"20,000 errors": errors_file(), "2,000 x 2,000 effects": effects_file()}
        print("| file | size | exit | best of %d |" % args.rounds)
        print("| --- | --- | --- | --- |")
        for name, text in cases.items():
            path = Path(folder) / "case.pipe"
            path.write_text(text, encoding="utf-8")
            seconds, status = time_check(path, args.rounds)
            print(f"| {name} | {len(text) / 1024:.0f} KB | {status} | {seconds:.2f} s |")
        path.write_text(cases["20,000 errors"], encoding="utf-8")
        ctx = compile_path(path)
        start = time.perf_counter()
        print_diagnostics(ctx.diagnostics, ctx.sources, io.StringIO())
        print(f"\nprinting the {len(ctx.diagnostics):,} diagnostics alone: {time.perf_counter() - start:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of the process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
