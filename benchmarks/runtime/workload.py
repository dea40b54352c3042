"""The workload every contender trains, and the helpers they share.

Pure torch (no hookpipe import): the peers' workers run in other venvs.

MLP 32 -> 64 -> 1 on pre-batched in-memory tensors (batch 16), SGD, MSE, gradient
clipping by norm 1.0. On ``--device cuda`` (``HOOKPIPE_BENCH_DEVICE=cuda`` in the
workers) model and batches live on the GPU and the forward pass runs under bf16
autocast, its output cast back to float32 before the loss, as accelerate's
``mixed_precision="bf16"`` does; the timed window ends with a
``torch.cuda.synchronize()``, so queued kernels are paid for. The timed window starts when the batch after the warm-up is
drawn and ends when the contender returns, so every contender pays the same
iteration cost and nothing else of ours.

The hook-cost pass trains a ``tiny`` workload instead (``HOOKPIPE_BENCH_WORKLOAD``):
a 4 -> 1 linear model on batches of one, so a step is a few dozen microseconds and
the cost of 100 extra hooks stands out of the timing noise.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Callable, ContextManager, Iterator

import torch

__all__ = [
    "BATCH", "BLOCK_ENV", "CLOCK_ENV", "DEVICE_ENV", "PROCESSOR_ENV", "WORKLOAD_ENV", "GATE_EVERY", "LR", "MAX_NORM", "Noop", "TimedBatches", "accelerator_kwargs", "autocast",
    "checksum", "clock", "device", "forward_of", "make_batches", "make_model", "mixed_precision", "noop",
]

BATCH = 16
LR = 0.01
MAX_NORM = 1.0
GATE_EVERY = 1000
#: The device the workers train on: "cpu" (default) or "cuda".
DEVICE_ENV = "HOOKPIPE_BENCH_DEVICE"
#: The clock of the timed window: "wall" (default) or "process" (CPU time of the
#: worker: on a machine shared with other work it leaves out the time the worker
#: waited for a core; meaningless on a GPU, where work happens off the process).
CLOCK_ENV = "HOOKPIPE_BENCH_CLOCK"
#: The model trained: "mlp" (default, the table's workload) or "tiny" (the hook-cost pass).
WORKLOAD_ENV = "HOOKPIPE_BENCH_WORKLOAD"
#: hookpipe's batch processor: "simple" (default, a ``SimpleBatchProcessor``) or "custom"
#: (a ``BatchProcessorMixin`` implementing ``__call__`` as the seed's contract has it).
PROCESSOR_ENV = "HOOKPIPE_BENCH_PROCESSOR"
#: Steps per block in block mode (see :class:`TimedBatches`); unset or 0: one timed window.
BLOCK_ENV = "HOOKPIPE_BENCH_BLOCK"


def custom_processor() -> bool:
    return os.environ.get(PROCESSOR_ENV) == "custom"


def tiny() -> bool:
    return os.environ.get(WORKLOAD_ENV) == "tiny"


def clock() -> Callable[[], float]:
    return time.process_time if os.environ.get(CLOCK_ENV) == "process" else time.perf_counter


def device() -> torch.device:
    return torch.device(os.environ.get(DEVICE_ENV, "cpu"))


def mixed_precision() -> str:
    """accelerate's ``mixed_precision`` for the device: bf16 on CUDA, none on the CPU."""
    return "bf16" if device().type == "cuda" else "no"


def accelerator_kwargs() -> dict[str, Any]:
    """``Accelerator(**...)`` for the device (so a GPU machine's CPU run stays on the CPU)."""
    return {"mixed_precision": "bf16"} if device().type == "cuda" else {"cpu": True}


def autocast() -> ContextManager[Any]:
    """The hand-written loops' forward context: bf16 autocast on CUDA, nothing on the CPU."""
    if device().type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def forward_of(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """What a hand-written loop calls for the forward pass: the model itself on the CPU
    (nothing per step), on CUDA the model under bf16 autocast (decided once, not per step)."""
    if device().type != "cuda":
        return model

    def forward(x: torch.Tensor) -> torch.Tensor:
        with autocast():
            return model(x)

    return forward


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    if tiny():
        return torch.nn.Sequential(torch.nn.Linear(4, 1)).to(device())
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).to(device())


def make_batches(count: int, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    batch, features = (1, 4) if tiny() else (BATCH, 32)
    x = torch.randn(count, batch, features, generator=g).to(device())
    y = torch.randn(count, batch, 1, generator=g).to(device())
    return [(x[i], y[i]) for i in range(count)]


class TimedBatches:
    """An in-memory list of batches that notes the time the first timed batch is drawn.

    Not a ``DataLoader``, so ``accelerate.prepare`` leaves it as it is; it has a
    length so trainers know the epoch's last batch.

    In block mode (``HOOKPIPE_BENCH_BLOCK=B``, set by the driver's worker for one
    request) the timed steps run in blocks of ``B``: before each block the iterator
    tells the parent it is ready (with the last block's seconds) on stdout and waits
    for a line on stdin, so the parent can let the contenders take turns block by
    block. Each block is timed from the parent's go to the request for the batch
    after it (the last one to ``elapsed()``, as the single window is); ``elapsed()``
    is then the blocks' sum.
    """

    def __init__(self, batches: list[Any], warmup: int) -> None:
        self.batches = batches
        self.warmup = warmup
        self.start: float | None = None
        self.clock = clock()
        self.block = int(os.environ.get(BLOCK_ENV, "0"))
        self.blocks: list[float] = []

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        if self.block:
            yield from self._blocks()
            return
        batches, warmup = self.batches, self.warmup
        for i in range(len(batches)):
            if i == warmup:
                self.start = self.clock()
            yield batches[i]

    def _blocks(self) -> Iterator[Any]:
        batches, warmup, block = self.batches, self.warmup, self.block
        for i in range(len(batches)):
            if i >= warmup and (i - warmup) % block == 0:
                self._close_block()
                self._handshake(self.blocks[-1] if self.blocks else None)
                self.start = self.clock()
            yield batches[i]
        self._close_block()

    def _close_block(self) -> None:
        """End the block in progress, if one is: at the next block, at the data's end, or at ``elapsed()``
        (a trainer that knows the data's length stops without asking for more)."""
        if self.start is None:
            return
        if device().type == "cuda":
            torch.cuda.synchronize()
        self.blocks.append(self.clock() - self.start)
        self.start = None

    @staticmethod
    def _handshake(last: float | None) -> None:
        import json
        import sys

        print(json.dumps({"block": last}), flush=True)
        if not sys.stdin.readline():
            raise SystemExit("the benchmark's parent went away")

    def elapsed(self) -> float:
        """Seconds of the timed steps: since the first timed batch was drawn, or the blocks' sum."""
        if self.block:
            self._close_block()
            assert self.blocks, "the timed window never started"
            return sum(self.blocks)
        assert self.start is not None, "the timed window never started"
        if device().type == "cuda":
            torch.cuda.synchronize()
        return self.clock() - self.start


def checksum(model: torch.nn.Module) -> str:
    """The final parameters, bit for bit, as a short hex digest (no numpy needed)."""
    import hashlib

    h = hashlib.sha256()
    for p in model.parameters():
        h.update(bytes(p.detach().cpu().contiguous().flatten().view(torch.uint8).tolist()))
    return h.hexdigest()[:16]


def noop(args: Any) -> None:
    """A hook that does nothing."""


class Noop:
    """A hookpipe hook class that does nothing at the end of a step."""

    def on_step_end(self, args: Any) -> None:
        pass


def mse_processor(average_loss: bool | None = None) -> Any:
    """The workload's batch processor, for a ``.pipe`` file to name (``bench.mse_processor()``).

    Without ``average_loss`` the ``.pipe`` default applies (no per-step all-reduce);
    ``average_loss = true`` is the seed's.
    """
    import torch.nn.functional as F

    from hookpipe.runtime import SimpleBatchProcessor

    class MSE(SimpleBatchProcessor):
        def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
            x, y = batch
            out = model(x)
            return out, F.mse_loss(out, y)

    return MSE() if average_loss is None else MSE(average_loss=average_loss)


def call_processor() -> Any:
    """The seed's extension point: a ``BatchProcessorMixin`` whose ``__call__`` opens the model scopes
    and calls ``accelerator.backward`` itself (the custom-processor workload)."""
    import torch.nn.functional as F

    from hookpipe.runtime import BatchProcessorMixin

    class CallMSE(BatchProcessorMixin):
        def __call__(self, pipeline_hooks: Any, on_batch_hook_args: Any, model: Any) -> None:
            x, y = on_batch_hook_args.batch
            with pipeline_hooks.begin("on_model_forward", on_batch_hook_args) as fwd:
                out = model(x)
                loss = F.mse_loss(out.float(), y)
                fwd.model_outputs, fwd.reduce_loss = out, loss
            with pipeline_hooks.begin("on_model_backward", on_batch_hook_args):
                on_batch_hook_args.accelerator.backward(loss)
            on_batch_hook_args.model_outputs, on_batch_hook_args.reduce_loss = out, loss

    return CallMSE()
