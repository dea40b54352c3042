"""Agreeing on a stop across processes without a blocking collective per step.

Every rank must stop after the same step (a rank that stops alone leaves the
others hanging in their next gradient all-reduce), so a stop asked of one rank
(SIGTERM from a scheduler, ``nan_guard``) has to reach all of them. Doing that
with a blocking ``all_reduce`` and ``.item()`` after every step costs a
collective round trip per step and, on a GPU, a host-device synchronisation
that drains the launch queue: exactly what an asynchronous training step avoids.

Instead, at check steps (the same steps on every rank) each rank *starts* an
asynchronous MAX all-reduce of its stop flag and reads the result of the one it
started at the previous check, which has long completed by then. The
reduction runs on a gloo group over CPU tensors (the default group when the run
uses gloo; a dedicated gloo group beside NCCL), so it never touches a CUDA
stream. Reading is deterministic in the step count, so all ranks see the same
answer after the same step and stop together.

What is reduced is a level (0 go on, 1 finish cleanly, 2 interrupted), so the
most urgent request wins, and each rank's proposal for the next interval. Even
an asynchronous collective is not free on a busy machine (a gloo thread wakes
up beside the step: about 0.7 ms of a 2-process CPU run's time each), so the
checks are spaced by time, not by a fixed count: each rank proposes as many
steps as it took to train :data:`CHECK_SECONDS` since the previous check, and
all take the smallest proposal (reduced along with the level, so every rank
schedules the same next check). The first check is after :data:`DEFAULT_EVERY`
steps (on a multiple of it), the second :data:`DEFAULT_EVERY` steps later; from
then on the agreed interval applies: at most about four checks a second,
whatever a step costs. Between epochs (once per epoch, not per step) the trainer
agrees at once with :meth:`StopAgreement.now`.

Stop latency: a request made during step ``t`` is sent at the first check at or
after ``t`` and read at the check after that: one to two check intervals later
(about 0.25-0.5 s of training, at least one step; up to ``2 * DEFAULT_EVERY``
steps at the start of a run), or at the end of the epoch if that comes first,
on every rank after the same step (a single process stops after the current
step, as before; a request made in an epoch phase is agreed at that epoch's
end). ``HOOKPIPE_STOP_CHECK_EVERY=N`` fixes the interval at ``N`` steps instead;
``0`` there means a blocking check after every step (latency 0, at the cost the
default avoids).
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch

__all__ = ["CHECK_SECONDS", "DEFAULT_EVERY", "MAX_EVERY", "StopAgreement", "check_interval"]

#: Steps before the first two checks, while no step time is known yet.
DEFAULT_EVERY = 8
#: Training time between two checks the ranks aim at once step times are known.
CHECK_SECONDS = 0.25
#: The most steps between two checks, however short a step.
MAX_EVERY = 1024


def check_interval() -> int | None:
    """The interval ``HOOKPIPE_STOP_CHECK_EVERY`` fixes (0: blocking, every step); None: timed (the default)."""
    raw = os.environ.get("HOOKPIPE_STOP_CHECK_EVERY", "").strip()
    if not raw:
        return None
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
        fixed = check_interval() if every is None else every
        #: Steps between checks until the ranks agreed on a timed interval (fixed: always).
        self.every = DEFAULT_EVERY if fixed is None else fixed
        #: Whether the interval follows the step time (no fixed interval asked for).
        self.timed = fixed is None
        self._group: Any = None
        self._pending: tuple[Any, torch.Tensor] | None = None
        self._next: int | None = None  # the step of the next check (None: the first multiple of `every`)
        self._last: tuple[int, float] | None = None  # (step, time) of the previous check (or the first poll)

    def poll(self, level: int, steps_done: int) -> int:
        """The level every rank acts on after this rank's ``steps_done``-th step (0: go on).

        ``level`` is this rank's own. On one process that is the answer.
        """
        if self.num_processes <= 1:
            return level
        if self.every == 0:
            return self.now(level)
        if self._last is None:  # the first poll: step times are measured from here
            self._last = (steps_done, time.monotonic())
        due = steps_done % self.every == 0 if self._next is None else steps_done >= self._next
        if not due:
            return 0
        agreed, interval = 0, self.every
        if self._pending is not None:
            work, flag = self._pending
            work.wait()  # started at the previous check: already done, in practice
            agreed = int(flag[0])
            if self.timed:
                interval = -int(flag[1])
        now = time.monotonic()
        self._pending = self._start(level, self._proposal(steps_done, now))
        self._next, self._last = steps_done + interval, (steps_done, now)
        return agreed

    def _proposal(self, steps_done: int, now: float) -> int:
        """The interval this rank proposes: the steps it trains in :data:`CHECK_SECONDS`."""
        if not self.timed or self._last is None or steps_done <= self._last[0]:
            return self.every
        per_step = max(now - self._last[1], 1e-9) / (steps_done - self._last[0])
        return max(1, min(MAX_EVERY, round(CHECK_SECONDS / per_step)))

    def now(self, level: int) -> int:
        """The highest level of all ranks, waited for (between epochs, or ``every == 0``)."""
        if self.num_processes <= 1:
            return level
        work, flag = self._start(level, self.every)
        work.wait()
        return int(flag[0])

    def close(self) -> None:
        """Wait for the reduction in flight, so no collective outlives the run."""
        if self._pending is not None:
            self._pending[0].wait()
            self._pending = None

    def _start(self, level: int, proposal: int) -> tuple[Any, torch.Tensor]:
        import torch.distributed as dist

        if self._group is None:
            self._group = _cpu_group()
        # MAX of -proposal is minus the smallest proposal: one reduction carries both.
        flag = torch.tensor([level, -proposal], dtype=torch.int64, device=self._group[1])
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
