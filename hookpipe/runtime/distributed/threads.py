"""How many torch threads each process of a run uses.

torch sizes its intra-op pool for the whole machine in every process, so N
processes on one machine oversubscribe its cores N times (on 2 cores, 2
processes with 2 threads each ran at 21 steps/s; with 1 each, 161). The rule,
applied by ``hookpipe run`` (which owns its process; ``from_plan`` sets the
count only when the file gives ``threads``, and otherwise leaves a Python
caller's own ``torch.set_num_threads`` alone):

1. ``trainer { threads = N }`` (or ``--set trainer.threads=N``), when given;
2. else ``OMP_NUM_THREADS``, when set outside a launcher (a plain ``hookpipe
   run``): the user chose it;
3. else the cores this process may run on, divided among the processes of the
   run on this machine (at least 1). Under ``accelerate launch`` or ``torchrun``
   ``OMP_NUM_THREADS`` is set by the launcher itself (to 1 by default), not by
   the user, so it does not count; write ``threads`` to choose.
"""

from __future__ import annotations

import os
from typing import Mapping

__all__ = ["apply_threads", "thread_count"]

#: Set by torchrun (and so by ``accelerate launch``) for every process it starts.
_LAUNCHED = ("LOCAL_WORLD_SIZE", "TORCHELASTIC_RUN_ID")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def thread_count(threads: int | None, local_processes: int, env: Mapping[str, str], cores: int) -> int:
    """The thread count for one process (see the module docstring for the rule).

    Example:
        >>> thread_count(None, 2, {"LOCAL_WORLD_SIZE": "2", "OMP_NUM_THREADS": "1"}, 16)
        8
    """
    if threads is not None:
        return threads
    omp = env.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0 and not any(k in env for k in _LAUNCHED):
        return int(omp)
    return max(1, cores // max(1, local_processes))


def apply_threads(threads: int | None, num_processes: int) -> int:
    """Set torch's thread count for this process; return it.

    The processes on this machine are ``LOCAL_WORLD_SIZE`` (set by the
    launcher), else all ``num_processes``.
    """
    import torch

    local = os.environ.get("LOCAL_WORLD_SIZE", "")
    count = thread_count(threads, int(local) if local.isdigit() else num_processes, os.environ, _cores())
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
