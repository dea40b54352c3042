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

What is reduced is a level (0 go on, 1 finish cleanly, 2 interrupted), so the
most urgent request wins. Between epochs (once per epoch, not per step) the
trainer agrees at once with :meth:`StopAgreement.now`.

Stop latency: a request made during step ``t`` is sent at the first check step
at or after ``t`` and read ``every`` steps later, so the run stops after between
``every`` and ``2 * every - 1`` further steps, or at the end of the epoch if that
comes first, on every rank after the same step (a single process stops after
the current step, as before; a request made in an
epoch phase is agreed at that epoch's end). ``every`` is :data:`DEFAULT_EVERY`
unless ``HOOKPIPE_STOP_CHECK_EVERY`` sets it; ``0`` there means a blocking check
after every step (latency 0, at the cost the default avoids).
"""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["DEFAULT_EVERY", "StopAgreement", "check_interval"]

#: Steps between two stop checks: at ~10 ms per step a stop takes 0.1-0.2 s to agree on.
DEFAULT_EVERY = 8


def check_interval() -> int:
    """The interval ``HOOKPIPE_STOP_CHECK_EVERY`` asks for (0: blocking, every step), else the default."""
    raw = os.environ.get("HOOKPIPE_STOP_CHECK_EVERY", "").strip()
    if not raw:
        return DEFAULT_EVERY
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(
            f"HOOKPIPE_STOP_CHECK_EVERY={raw!r}: give a number of steps (0: check every step, blocking)")
    return value


class StopAgreement:
    """One run's stop checks: :meth:`poll` after every step, :meth:`close` at the end."""

    def __init__(self, num_processes: int, every: int | None = None) -> None:
        self.num_processes = num_processes
        self.every = check_interval() if every is None else every
        self._group: Any = None
        self._pending: tuple[Any, torch.Tensor] | None = None

    def poll(self, level: int, steps_done: int) -> int:
        """The level every rank acts on after this rank's ``steps_done``-th step (0: go on).

        ``level`` is this rank's own. On one process that is the answer.
        """
        if self.num_processes <= 1:
            return level
        if self.every == 0:
            return self.now(level)
        if steps_done % self.every:
            return 0
        agreed = 0
        if self._pending is not None:
            work, flag = self._pending
            work.wait()  # started `every` steps ago: already done, in practice
            agreed = int(flag[0])
        self._pending = self._start(level)
        return agreed

    def now(self, level: int) -> int:
        """The highest level of all ranks, waited for (between epochs, or ``every == 0``)."""
        if self.num_processes <= 1:
            return level
        work, flag = self._start(level)
        work.wait()
        return int(flag[0])

    def close(self) -> None:
        """Wait for the reduction in flight, so no collective outlives the run."""
        if self._pending is not None:
            self._pending[0].wait()
            self._pending = None

    def _start(self, level: int) -> tuple[Any, torch.Tensor]:
        import torch.distributed as dist

        if self._group is None:
            self._group = _cpu_group()
        flag = torch.tensor([level], dtype=torch.int32, device=self._group[1])
        work = dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self._group[0], async_op=True)
        return work, flag


def _cpu_group() -> tuple[Any, torch.device]:
    """A process group whose collectives run on the CPU, and the device of its tensors.

    Every rank calls this at the same point (the first check), as ``new_group`` requires.
    """
    import torch.distributed as dist

    if dist.get_backend() == "gloo":
        return None, torch.device("cpu")  # None: the default group
    try:
        return dist.new_group(backend="gloo"), torch.device("cpu")
    except (RuntimeError, ValueError):  # no gloo in this build: the default group, on its device
        on_gpu = torch.cuda.is_available()
        return None, torch.device("cuda", torch.cuda.current_device()) if on_gpu else torch.device("cpu")
