"""Two CPU processes (gloo): hookpipe against a hand-written DDP loop.

``python -m benchmarks distributed`` (also part of ``all``). Two ranks are
spawned on this machine, the process group is set up once through accelerate
(as ``accelerate launch`` would), and every round runs each contender once,
contender after contender, with a barrier before each:

* (a) the hand-written DDP loop: ``DistributedDataParallel``, SGD, MSE, clip;
* (b) the same loop plus what hookpipe did before: a blocking ``all_reduce`` of a
  stop flag and ``.item()`` after every step;
* (c) hookpipe's ``HookBasedTrainer`` from a ``.pipe`` file with default
  settings (DDP through accelerate; stop flag agreed asynchronously every few
  steps, see ``hookpipe.runtime.distributed.stop_agreement``; the batch processor
  named in the file, so the ``.pipe`` default applies: no per-step all-reduce of
  the loss, the step has the hand-written loop's collectives only);
* (d) the same with ``average_loss = true`` in the file (the seed's default: the
  loss averaged over processes every step, one more all-reduce per step).

Each rank trains the same batches (the workload of :mod:`benchmarks.runtime.workload`);
reported is rank 0's median µs/step and the median over rounds of the ratio to (a).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from benchmarks.runtime.workload import LR, MAX_NORM, TimedBatches, checksum, make_batches, make_model

__all__ = ["CONTENDERS", "run"]

Result = tuple[float, str]


def _hand(warmup: int, steps: int, sync_flag: bool) -> Result:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    model = DistributedDataParallel(make_model())
    data = TimedBatches(make_batches(warmup + steps), warmup)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    params = list(model.parameters())
    clip = torch.nn.utils.clip_grad_norm_
    model.train()
    for x, y in data:
        loss = F.mse_loss(model(x), y)
        loss.backward()
        clip(params, MAX_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if sync_flag:
            flag = torch.tensor([0])
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            if flag.item():
                break
    return data.elapsed(), checksum(model.module)


def run_ddp(warmup: int, steps: int) -> Result:
    """(a) The limit: a hand-written DDP loop."""
    return _hand(warmup, steps, sync_flag=False)


def run_ddp_sync_flag(warmup: int, steps: int) -> Result:
    """(b) (a) plus a blocking stop-flag all-reduce and ``.item()`` per step."""
    return _hand(warmup, steps, sync_flag=True)


def run_hookpipe(warmup: int, steps: int, average_loss: bool = False) -> Result:
    """(c) hookpipe from a ``.pipe`` file with default settings, under DDP through accelerate."""
    from benchmarks.runtime.contenders import pipe_text
    from hookpipe.runtime import HookBasedTrainer

    model = make_model()
    data = TimedBatches(make_batches(warmup + steps), warmup)
    processor = "bench.mse_processor(average_loss = true)" if average_loss else "bench.mse_processor()"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pipe"
        path.write_text(pipe_text(0, False, warmup + steps, processor), encoding="utf-8")
        trainer = HookBasedTrainer.from_file(str(path), model=model, dataloader=data,
                                             optimizer=torch.optim.SGD(model.parameters(), lr=LR))
        assert getattr(trainer.batch_processor, "average_loss", None) is average_loss  # the file's, or the default
    trainer()
    return data.elapsed(), checksum(trainer.accelerator.unwrap_model(trainer.model))


def run_hookpipe_seed_average(warmup: int, steps: int) -> Result:
    """(d) (c) with the seed's per-step loss all-reduce (``average_loss = true``)."""
    return run_hookpipe(warmup, steps, average_loss=True)


CONTENDERS: dict[str, tuple[str, Callable[[int, int], Result]]] = {
    "a": ("hand-written DDP loop", run_ddp),
    "b": ("hand-written DDP loop + blocking stop flag per step (hookpipe before)", run_ddp_sync_flag),
    "c": ("hookpipe HookBasedTrainer (.pipe), default settings (no per-step loss all-reduce)", run_hookpipe),
    "d": ("hookpipe HookBasedTrainer (.pipe), `average_loss = true` (the seed's per-step all-reduce)",
          run_hookpipe_seed_average),
}


def _rank(rank: int, world: int, port: int, rounds: int, warmup: int, steps: int, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    import torch.distributed as dist
    from accelerate import PartialState

    PartialState(cpu=True)  # the gloo process group, as `accelerate launch` sets it up
    times: dict[str, list[float]] = {k: [] for k in CONTENDERS}
    sums: dict[str, set[str]] = {k: set() for k in CONTENDERS}
    for _, fn in CONTENDERS.values():  # warm-up pass, discarded
        dist.barrier()
        fn(warmup, max(100, warmup))
    for r in range(rounds):
        for key, (_, fn) in CONTENDERS.items():
            dist.barrier()
            seconds, digest = fn(warmup, steps)
            times[key].append(seconds / steps)
            sums[key].add(digest)
        if rank == 0:
            print(f"  round {r + 1}/{rounds} (µs/step): " + ", ".join(
                f"({k}) {times[k][-1] * 1e6:.0f}" for k in CONTENDERS), file=sys.stderr, flush=True)
    if rank == 0:
        Path(out).write_text(json.dumps({"times": times, "checksums": {k: sorted(v) for k, v in sums.items()}}))
    dist.barrier()
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(rounds: int = 5, warmup: int = 100, steps: int = 1000) -> dict[str, Any]:
    """Spawn two ranks, measure, return rank 0's per-round seconds per step and checksums."""
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "result.json")
        mp.spawn(_rank, args=(2, _free_port(), rounds, warmup, steps, out), nprocs=2, join=True)
        return json.loads(Path(out).read_text())


def section(result: dict[str, Any], rounds: int, warmup: int, steps: int) -> str:
    """Markdown for :func:`run`'s result."""
    times = result["times"]
    base = times["a"]
    out = [
        "## Two processes (gloo, CPU): µs per training step",
        "",
        f"The workload above under DDP on 2 processes (1 torch thread each), {steps:,} timed steps after {warmup} "
        f"warm-up steps; rank 0's median of {rounds} interleaved rounds; the ratio is the median over rounds of "
        "the contender's time over (a)'s in the same round; overhead is the median of the per-round difference.",
        "",
        "| contender | µs/step | ratio to (a) | overhead (µs/step) |",
        "|---|---:|---:|---:|",
    ]
    for key, (label, _) in CONTENDERS.items():
        ts = times[key]
        ratio = statistics.median(x / y for x, y in zip(ts, base))
        over = statistics.median(x - y for x, y in zip(ts, base)) * 1e6
        out.append(f"| ({key}) {label} | {statistics.median(ts) * 1e6:.1f} | {ratio:.3f} | {over:+.1f} |")
    digests = {d for v in result["checksums"].values() for d in v}
    out += ["", f"Final parameters agree bit for bit across contenders and rounds: {'yes' if len(digests) == 1 else 'NO'} "
            f"({', '.join(sorted(digests))})."]
    return "\n".join(out)
