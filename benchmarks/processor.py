"""The seed's own extension point: a ``BatchProcessorMixin`` implementing ``__call__``.

``python -m benchmarks processor`` (also part of ``all``; it also prints
:mod:`benchmarks.step_work`'s counts for this workload). The runtime workload
(see :mod:`benchmarks.runtime.workload`) with hookpipe's contenders running
``workload.call_processor()``: its ``__call__`` opens ``on_model_forward`` and
``on_model_backward`` itself and calls ``accelerator.backward``, as the seed's
contract has it. The hand-written loop and Ignite run their own step (they have
no batch processor); all are interleaved, one worker per contender.
"""

from __future__ import annotations

from typing import Any

from benchmarks.runtime import driver

__all__ = ["CONFIG", "ONLY", "run", "section"]

CONFIG = (("custom __call__", 0, False),)
#: Steps per turn: the contenders take turns in blocks of this many timed steps (about 150 ms each).
BLOCK = 500
ONLY = {"a", "c", "d", "f"}


def run(rounds: int, warmup: int, steps: int, install: bool = True, clock: str = "wall") -> list[Any]:
    # New workers every round: the margins here are a few µs, less than what one process's
    # memory layout and string hashes shift a contender by for its whole life. Turns of
    # BLOCK steps: this 2-core machine's speed drifts by 10% within a round's minute.
    # Shifted memory: where the step's buffers land moves a contender by several percent,
    # the same in every process running the same code.
    return driver.run(rounds=rounds, warmup=warmup, steps=steps, install=install, only=ONLY, configs=CONFIG,
                      processor="custom", clock=clock, fresh=True, block=BLOCK,
                      shift_layout=True)


def section(field: list[Any], rounds: int, warmup: int, steps: int) -> str:
    label = CONFIG[0][0]
    base = next(c for c in field if c.key == "a")
    out = [
        "## The seed's processors: a `BatchProcessorMixin` implementing `__call__`",
        "",
        f"The runtime workload on the CPU (one torch thread), {steps:,} timed steps after {warmup} warm-up steps, "
        f"median of {rounds} rounds, each in new worker processes, each run's memory shifted by a random offset, "
        f"whose timed steps take turns in blocks of {BLOCK} "
        "(every contender trains a block, then the next, in an order rotated every block); hookpipe's contenders "
        "run a processor whose `__call__` opens the model scopes and calls `accelerator.backward` itself. "
        "Ratio: median over rounds of the time over (a)'s; its quartiles over rounds beside it.",
        "",
        "| contender | µs/step | ratio to (a) | ratio, quartiles over rounds | overhead (µs/step) |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in field:
        if c.unavailable or not c.times.get(label):
            out.append(f"| ({c.key}) {c.label} | {c.unavailable or 'no result'} | | | |")
            continue
        us, ratio, over = driver.median_us(c, label), driver.paired_ratio(c, base, label), driver.overhead_us(c, base, label)
        low, high = driver.ratio_quartiles(c, base, label)
        out.append(f"| ({c.key}) {c.label} | {us:.1f} | {ratio:.3f} | {low:.3f}-{high:.3f} | {over:+.1f} |")
    return "\n".join(out)
