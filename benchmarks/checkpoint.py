"""Checkpoints: how long the loop waits, against ``accelerator.save_state`` of the same state.

``python -m benchmarks checkpoint`` (also part of ``all``). A model of
``LAYERS`` linear layers of ``WIDTH``² weights with AdamW state (one step taken),
about 1.2 GB in all (fp32: weights, two moments), trained for one step by a
``.pipe`` trainer whose ``checkpoint`` hook is then called as the loop calls it.
Every round, interleaved:

* (a) ``accelerator.save_state`` of the trainer's state (what the loop waited for
  before: accelerate serialises and writes every file; it does not fsync);
* (b) hookpipe's asynchronous ``checkpoint``: *blocked* is the time until
  ``save`` returns (the loop goes on: a host copy of the state was taken),
  *total* until the background write completed (serialised, hashed while
  written, fsynced, marker, rename);
* (c) ``checkpoint(asynchronous = false)``: the synchronous save (``save_state``,
  then the checksums and fsync) for reference;
* (d) verification at resume: the checksums of every file, in parallel.

Every contender starts after ``os.sync()`` (nothing left to write back from the one
before); (a) and (b) take turns going first; a first round warms up and is not
counted. Medians over rounds; the ratio is the median over rounds of the time
over (a)'s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = ["run", "section"]

LAYERS, WIDTH = 6, 4096


def big_model() -> torch.nn.Module:
    """``LAYERS`` × ``WIDTH``² linear layers (about 400 MB of fp32 weights)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(*(torch.nn.Linear(WIDTH, WIDTH, bias=False) for _ in range(LAYERS)))


def batches(n: int = 2) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A few small batches (the benchmark times saves, not steps)."""
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(4, WIDTH, generator=g), torch.randn(4, WIDTH, generator=g)) for _ in range(n)]


PIPE = """pipeline "checkpoint-benchmark"
use bench = "benchmarks.checkpoint"
use work = "benchmarks.runtime.workload"

trainer {
    max_step        = 1
    cpu             = true
    progress        = false
    model           = bench.big_model()
    dataloader      = bench.batches()
    optimizer       = "torch.optim.AdamW"(lr = 0.001)
    batch_processor = work.mse_processor()
}

hook optimize = optimizer()
hook save     = checkpoint(dir = "DIR")

loop {
    epoch { step { after { optimize } } }
    after { save }
}
"""


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _timed(work: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Seconds ``work(*args)`` takes, and its result; started with nothing left to write back."""
    os.sync()
    start = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - start, result


def run(rounds: int = 5) -> dict[str, Any]:
    """Measure (a)-(d) ``rounds`` times, interleaved; seconds per round and the state's size."""
    from hookpipe.compiler import compile_text
    from hookpipe.runtime import HookBasedTrainer, PipelineHookArgs
    from hookpipe.runtime.checkpoints.resume import checkpoint_name, checkpoint_problem

    times: dict[str, list[float]] = {k: [] for k in ("a", "b_blocked", "b_total", "c", "d")}
    with tempfile.TemporaryDirectory(dir=os.environ.get("HOOKPIPE_BENCH_DIR")) as tmp:
        root = Path(tmp)
        trainer = HookBasedTrainer.from_plan(compile_text(PIPE.replace("DIR", str(root / "ckpt")), "bench.pipe"))
        trainer()  # one step (AdamW's moments exist), then the loop's final save: warm
        hook = trainer.hook_instances["save"]
        acc = trainer.accelerator
        args = PipelineHookArgs(accelerator=acc, epoch_id=1, step_id=0, global_step_id=1)
        size = _size(root / "ckpt" / "step-00000001")
        def plain(r: int) -> None:  # (a)
            target = root / f"plain-{r}"
            times["a"].append(_timed(acc.save_state, str(target))[0])
            shutil.rmtree(target)

        def asynchronous(r: int) -> None:  # (b)
            hook.asynchronous = True
            os.sync()
            start = time.perf_counter()
            hook.save(args, 100 + 2 * r, None)
            times["b_blocked"].append(time.perf_counter() - start)
            hook.wait()
            times["b_total"].append(time.perf_counter() - start)

        for r in range(-1, rounds):  # round -1 warms both paths up and is not counted
            mark = {k: len(v) for k, v in times.items()}
            # (a) and (b) take turns going first: whatever one leaves behind (pages to reclaim,
            # a busy disk) weighs on each equally often.
            for contender in ((plain, asynchronous) if r % 2 == 0 else (asynchronous, plain)):
                contender(r)
            hook.asynchronous = False
            times["c"].append(_timed(hook.save, args, 101 + 2 * r, None)[0])
            seconds, problem = _timed(checkpoint_problem, root / "ckpt" / checkpoint_name(100 + 2 * r))
            times["d"].append(seconds)
            assert problem is None, problem
            for old in (root / "ckpt").glob("step-*"):
                shutil.rmtree(old)
            if r < 0:
                for key, count in mark.items():
                    del times[key][count:]
        hook.close()
    return {"times": times, "bytes": size}


def section(result: dict[str, Any], rounds: int) -> str:
    """Markdown for :func:`run`'s result."""
    times, size = result["times"], result["bytes"]
    base = times["a"]

    def row(label: str, key: str) -> str:
        ts = times[key]
        ratios = sorted(x / y for x, y in zip(ts, base))
        return (f"| {label} | {statistics.median(ts):.2f} | {statistics.median(ratios):.2f}× | "
                f"{ratios[0]:.2f}-{ratios[-1]:.2f}× |")

    return "\n".join([
        "## Checkpoints: how long the loop waits",
        "",
        f"A {size / 1e9:.2f} GB state ({LAYERS} × {WIDTH}² fp32 linear layers, AdamW moments, one step), CPU; "
        f"median of {rounds} interleaved rounds after a warm-up round, each contender after `os.sync()`; "
        "the ratio is the median over rounds of the time over (a)'s.",
        "",
        "| what | seconds | ratio to (a) | rounds' ratios |",
        "|---|---:|---:|---:|",
        row("(a) `accelerator.save_state` (the loop waits for all of it; no fsync)", "a"),
        row("(b) `checkpoint` (asynchronous, the default): the loop blocked", "b_blocked"),
        row("(b) `checkpoint`: the background save's total (serialised, hashed while written, fsynced, marker, "
            "rename)", "b_total"),
        row("(c) `checkpoint(asynchronous = false)`: the loop waits for save_state, checksums, fsync", "c"),
        row("(d) verification at resume (every file's XXH3-128 checksum, in parallel)", "d"),
    ])
