"""Agreeing on a stop across processes without a blocking collective per step.

Every rank must stop after the same step (a rank that stops alone leaves the
others hanging in their next gradient all-reduce), so a stop asked of one rank
(SIGTERM from a scheduler, ``nan_guard``) has to reach all of them. Doing that
with a blocking ``all_reduce`` and ``.item()`` after every step costs a
collective round trip per step and, on a GPU, a host-device synchronisation
that drains the launch queue: exactly what an asynchronous training step avoids.

Instead, every ``every`` steps (on the same steps on every rank) each rank
*starts* an asynchronous MAX all-reduce of its stop flag and reads the result of
the one it started ``every`` steps earlier, which has long completed by then.
The reduction runs on a gloo group over CPU tensors (the default group when the
run uses gloo; a dedicated gloo group beside NCCL), so it never touches a CUDA
stream. Reading is deterministic in the step count, so all ranks see the same
answer after the same step and stop together.

Stop latency: a request made during step ``t`` is sent at the first check step
at or after ``t`` and read ``every`` steps later, so the run stops after between
``every`` and ``2 * every - 1`` further steps (a single process stops after the
current step, as before). ``every`` is :data:`DEFAULT_EVERY` unless
``HOOKPIPE_STOP_CHECK_EVERY`` sets it (1 restores a check, still asynchronous,
after every step with a latency of one step).
"""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["DEFAULT_EVERY", "StopAgreement", "check_interval"]

#: Steps between two stop checks: at ~10 ms per step a stop takes 0.1-0.2 s to agree on.
DEFAULT_EVERY = 8


def check_interval() -> int:
    """The interval ``HOOKPIPE_STOP_CHECK_EVERY`` asks for (a positive integer), else the default."""
    raw = os.environ.get("HOOKPIPE_STOP_CHECK_EVERY", "").strip()
    if not raw:
        return DEFAULT_EVERY
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"HOOKPIPE_STOP_CHECK_EVERY={raw!r}: give a positive number of steps")
    return value


class StopAgreement:
    """One run's stop checks: :meth:`poll` after every step, :meth:`close` at the end."""

    def __init__(self, num_processes: int, every: int | None = None) -> None:
        self.num_processes = num_processes
        self.every = check_interval() if every is None else every
        self._group: Any = None
        self._pending: tuple[Any, torch.Tensor] | None = None

    def poll(self, requested: bool, steps_done: int) -> bool:
        """Whether every rank must stop now, after this rank's ``steps_done``-th step.

        ``requested`` is this rank's own flag. On one process that is the answer.
        """
        if self.num_processes <= 1:
            return requested
        if steps_done % self.every:
            return False
        agreed = False
        if self._pending is not None:
            work, flag = self._pending
            work.wait()  # started `every` steps ago: already done, in practice
            agreed = bool(flag[0])
        self._pending = self._start(requested)
        return agreed

    def close(self) -> None:
        """Wait for the reduction in flight, so no collective outlives the run."""
        if self._pending is not None:
            self._pending[0].wait()
            self._pending = None

    def _start(self, requested: bool) -> tuple[Any, torch.Tensor]:
        import torch.distributed as dist

        if self._group is None:
            self._group = _cpu_group()
        flag = torch.tensor([1 if requested else 0], dtype=torch.int32, device=self._group[1])
        work = dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self._group[0], async_op=True)
        return work, flag


def _cpu_group() -> tuple[Any, torch.device]:
    """A process group whose collectives run on the CPU, and the device of its tensors.

    Every rank calls this at the same step (the first check), as ``new_group`` requires.
    """
    import torch.distributed as dist

    if dist.get_backend() == "gloo":
        return None, torch.device("cpu")  # None: the default group
    try:
        return dist.new_group(backend="gloo"), torch.device("cpu")
    except (RuntimeError, ValueError):  # no gloo in this build: the default group, on its device
        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
        return None, device
