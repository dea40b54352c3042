"""Compile time of generated pipelines of 1k, 10k and 50k attachments.

Run: python -m benchmarks.compile_scale
Prints the median of 3 runs per size (parse + every pass + lowering), and the
time per attachment, to show growth is roughly linear.
"""

from __future__ import annotations

import statistics
import sys
import time

from benchmarks.generate import generate
from hookpipe.compiler import compile_text
from hookpipe.dsl.grammar import parser


def measure(size: int, repeats: int = 3) -> float:
    text = generate(size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        plan = compile_text(text, f"generated_{size}.pipe")
        times.append(time.perf_counter() - start)
    assert sum(len(p.entries) for p in plan.phases) == size
    return statistics.median(times)


def main(sizes: list[int]) -> None:
    parser()  # grammar construction is a one-off per process; measured separately by lint cold start
    print("| attachments | compile (s) | µs / attachment |")
    print("|---:|---:|---:|")
    for size in sizes:
        seconds = measure(size)
        print(f"| {size:,} | {seconds:.3f} | {seconds / size * 1e6:.1f} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000, 50_000])
