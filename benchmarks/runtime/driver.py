"""The runtime benchmark's parent: starts one worker per contender and interleaves them.

Every round runs each configuration (K = 0, 10, 100 no-op hooks, and 100 gated
hooks) once per contender, contender after contender (A B C ... A B C ...), so
slow drifts of a shared machine hit every contender alike. Reported per
contender and configuration: the median µs/step over rounds, and the median over
rounds of its ratio to the hand-written loop (a) of the same round.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.peers import PEERS, Peer, ensure, python_of
from benchmarks.runtime.workload import CLOCK_ENV, DEVICE_ENV, PROCESSOR_ENV, WORKLOAD_ENV

ROOT = Path(__file__).resolve().parents[2]

#: (label, K, gated)
CONFIGS: tuple[tuple[str, int, bool], ...] = (
    ("K=0", 0, False),
    ("K=10", 10, False),
    ("K=100", 100, False),
    ("K=100 gated", 100, True),
)
#: The hook-cost pass (on the tiny workload): the slope from K=0 to K=100.
HOOK_CONFIGS = tuple(c for c in CONFIGS if c[0] != "K=10")


@dataclass
class Contender:
    key: str
    label: str
    target: str
    peer: Peer | None = None
    proc: subprocess.Popen[str] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    unavailable: str = ""
    #: config label -> list of (seconds per step) per round
    times: dict[str, list[float]] = field(default_factory=dict)
    checksums: set[str] = field(default_factory=set)


def contenders() -> list[Contender]:
    c = "benchmarks.runtime.contenders"
    return [
        Contender("a", "hand-written PyTorch loop", f"{c}:run_plain"),
        Contender("b", "hand-written loop through accelerate", f"{c}:run_accelerate"),
        Contender("c", "hookpipe HookBasedTrainer (Python, seed API)", f"{c}:run_hookpipe_seed"),
        Contender("d", "hookpipe HookBasedTrainer (.pipe file)", f"{c}:run_hookpipe_pipe"),
        Contender("e", PEERS["robo_orchard_lab"].label + " HookBasedTrainer", "benchmarks.runtime.peer_robo:run",
                  PEERS["robo_orchard_lab"]),
        Contender("f", PEERS["ignite"].label + " Engine", "benchmarks.runtime.peer_ignite:run", PEERS["ignite"]),
    ]


def interpreter(c: Contender) -> Path:
    """The Python ``c`` runs in: its peer's venv, or this one."""
    return python_of(c.peer) if c.peer is not None else Path(sys.executable)


def _start(c: Contender, install: bool, device: str = "cpu", clock: str = "wall", workload: str = "mlp",
           processor: str = "simple") -> None:
    python = sys.executable
    if c.peer is not None:
        ok, why = ensure(c.peer) if install else (python_of(c.peer).exists(), "not installed (run without --no-install)")
        if not ok:
            c.unavailable = why
            return
        python = str(python_of(c.peer))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT),
               **{DEVICE_ENV: device, CLOCK_ENV: clock, WORKLOAD_ENV: workload, PROCESSOR_ENV: processor})
    c.proc = subprocess.Popen([python, "-m", "benchmarks.runtime.worker", c.target], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = _read(c)
    if "error" in first:
        c.unavailable = first["error"]
        _stop(c)
    else:
        c.versions = first["versions"]


def _read(c: Contender) -> dict[str, Any]:
    assert c.proc is not None and c.proc.stdout is not None
    line = c.proc.stdout.readline()
    if not line:
        return {"error": f"worker exited (code {c.proc.wait()})"}
    return json.loads(line)


def _stop(c: Contender) -> None:
    if c.proc is not None:
        if c.proc.stdin:
            c.proc.stdin.close()
        c.proc.wait(timeout=60)
        c.proc = None


def _measure(c: Contender, k: int, gated: bool, warmup: int, steps: int, record: bool = True) -> float | None:
    _send(c, json.dumps({"k": k, "gated": gated, "warmup": warmup, "steps": steps}))
    answer = _read(c)
    if "error" in answer:
        c.unavailable = f"failed while running: {answer['error']}"
        _stop(c)
        return None
    if record:
        c.checksums.add(f"{k}:{answer['checksum']}")
    return answer["seconds"] / steps


def _send(c: Contender, text: str) -> None:
    assert c.proc is not None and c.proc.stdin is not None
    c.proc.stdin.write(text + "\n")
    c.proc.stdin.flush()


def _measure_blocks(field_: list[Contender], k: int, gated: bool, warmup: int, steps: int, block: int,
                    layouts: random.Random | None = None) -> dict[str, float]:
    """One run of every live contender, their timed steps taking turns in blocks of ``block`` steps.

    Each contender trains its warm-up steps, then waits; the parent lets them run one
    block each, in an order rotated every block, so a drift of the machine slower than
    a few blocks (500 steps of the workload: about 150 ms here) weighs on every
    contender alike. ``layouts``: each worker shifts its memory by a random amount drawn
    from it for this run (see the worker's ``_shifted_layout``). Returns seconds per
    step by contender key.
    """
    live = [c for c in field_ if c.proc is not None]
    for c in live:
        layout = layouts.randrange(1 << 30) if layouts is not None else None
        _send(c, json.dumps({"k": k, "gated": gated, "warmup": warmup, "steps": steps, "block": block,
                             "layout": layout}))
    for c in live:
        if "error" in (first := _read(c)):
            c.unavailable = f"failed while running: {first['error']}"
            _stop(c)
    live = [c for c in live if c.proc is not None]
    blocks = -(-steps // block)
    done: dict[str, float] = {}
    for j in range(blocks):
        for c in live[j % len(live):] + live[:j % len(live)]:
            if c.proc is None:
                continue
            _send(c, "go")
            answer = _read(c)
            if "error" in answer:
                c.unavailable = f"failed while running: {answer['error']}"
                _stop(c)
            elif j == blocks - 1:
                c.checksums.add(f"{k}:{answer['checksum']}")
                done[c.key] = answer["seconds"] / steps
    return done


def run(rounds: int = 5, warmup: int = 300, steps: int = 3000, install: bool = True,
        log: Any = sys.stderr, only: set[str] | None = None, device: str = "cpu",
        clock: str = "wall", workload: str = "mlp",
        configs: tuple[tuple[str, int, bool], ...] = CONFIGS, processor: str = "simple",
        fresh: bool = False, block: int = 0, shift_layout: bool = False) -> list[Contender]:
    """Measure every contender (or those keyed in ``only``) on ``device``; returns them with their per-round times.

    ``processor="custom"``: hookpipe's contenders run a ``BatchProcessorMixin`` implementing
    ``__call__`` (the others are unchanged: their step is written by hand).
    ``fresh``: every round starts new worker processes. What stays the same for one
    process's whole life (where its objects landed in memory, its string hashes) then
    varies from round to round like the machine's load does, instead of weighing on
    every round of one contender alike.
    ``block``: the contenders' timed steps take turns in blocks of that many steps
    (see :func:`_measure_blocks`) instead of one whole run after another.
    ``shift_layout`` (with ``block``): every run starts its memory at a random offset
    (seeded, so a rerun draws the same offsets).
    """
    layouts = random.Random(20261207) if shift_layout else None
    field_ = [c for c in contenders() if only is None or c.key in only]

    def start_all(announce: bool) -> None:
        for c in field_:
            if c.unavailable:
                continue
            _start(c, install, device, clock, workload, processor)
            if announce:
                print(f"  ({c.key}) {c.label}: {c.unavailable or 'ready'}", file=log, flush=True)
        for c in field_:  # a discarded warm-up pass: a worker's first run pays one-off costs
            for _label, k, gated in configs:
                if c.proc is not None:
                    _measure(c, k, gated, warmup, max(warmup, 100), record=False)

    try:
        start_all(announce=True)
        for r in range(rounds):
            if fresh and r:
                for c in field_:
                    _stop(c)
                start_all(announce=False)
            for label, k, gated in configs:
                if block:
                    per_step = _measure_blocks(field_, k, gated, warmup, steps, block, layouts)
                    for c in field_:
                        if c.key in per_step:
                            c.times.setdefault(label, []).append(per_step[c.key])
                    continue
                for c in field_:
                    if c.proc is None:
                        continue
                    t = _measure(c, k, gated, warmup, steps)
                    if t is not None:
                        c.times.setdefault(label, []).append(t)
            done = ", ".join(
                f"({c.key}) " + "/".join(f"{c.times[label][-1] * 1e6:.0f}" for label, _, _ in configs if c.times.get(label))
                for c in field_ if c.times
            )
            print(f"  round {r + 1}/{rounds} (µs/step, {'/'.join(label for label, _, _ in configs)}): {done}", file=log, flush=True)
    finally:
        for c in field_:
            _stop(c)
    return field_


def median_us(c: Contender, label: str) -> float | None:
    ts = c.times.get(label)
    return statistics.median(ts) * 1e6 if ts else None


def paired_ratio(c: Contender, base: Contender, label: str) -> float | None:
    """Median over rounds of this contender's time over the base's in the same round."""
    a, b = c.times.get(label), base.times.get(label)
    if not a or not b or len(a) != len(b):
        return None
    return statistics.median(x / y for x, y in zip(a, b))


def ratio_quartiles(c: Contender, base: Contender, label: str) -> tuple[float, float]:
    """The first and third quartiles over rounds of this contender's time over the base's in the same round."""
    a, b = c.times.get(label), base.times.get(label)
    assert a and b and len(a) == len(b)
    ratios = [x / y for x, y in zip(a, b)]
    if len(ratios) == 1:
        return ratios[0], ratios[0]
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return q1, q3


def overhead_us(c: Contender, base: Contender, label: str) -> float | None:
    """Median over rounds of this contender's time minus the base's in the same round, in µs per step.

    The figure that carries over to a GPU, where the step's own work runs off the
    CPU and what the framework adds in Python is what remains.
    """
    a, b = c.times.get(label), base.times.get(label)
    if not a or not b or len(a) != len(b):
        return None
    return statistics.median(x - y for x, y in zip(a, b)) * 1e6


def slope_us(c: Contender, to: str, k: int = 100) -> float | None:
    """Median over rounds of (time at ``to`` - time at K=0) / k, in µs per hook per step."""
    a, b = c.times.get(to), c.times.get("K=0")
    if not a or not b or len(a) != len(b):
        return None
    return statistics.median((x - y) / k for x, y in zip(a, b)) * 1e6
