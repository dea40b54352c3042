"""``hookpipe run FILE --processes N``: start the N processes of a run on this machine.

The workers are started through torch's elastic launcher, by its public API
(``torch.distributed.launcher.api.elastic_launch``, what ``torchrun`` and
``accelerate launch --multi_gpu`` use), each running ``python -m
hookpipe.runtime.run FILE ...`` with the rendezvous variables set (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``...), exactly as under ``accelerate launch``. What
this adds over calling a launcher by hand:

* **one message per error**: an error every process has alike (a mistake in the
  file, ``nothing to train``, a misspelt monitor) is printed by the main process
  only, a failure of one process by that process (``[rank 1] ...``), and the
  launcher's own report of a failed child (``ChildFailedError`` and its traceback)
  is not printed: the exit status says it;
* **hookpipe's exit codes**: 0 done, 1 failed, 130 after SIGINT (Ctrl-C), 143 after
  SIGTERM, whatever status the launcher would give;
* **no orphans**: SIGINT or SIGTERM to this process is passed to every worker (the
  first finishes the step and checkpoints, as in a one-process run), and the
  launcher kills any worker still running when it gives up on them.

Only SIGKILL cannot be passed on: ``kill -9`` of this process leaves the workers
running (stop a run with SIGTERM or Ctrl-C; see docs/runtime.md).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import uuid
from typing import Sequence

__all__ = ["launch"]

#: hookpipe's exit statuses a worker may end with; anything else reads as a failure (1).
_CODES = {0, 1, 2, 130, 143}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quiet_launcher() -> None:
    """Only critical lines from torch's elastic launcher: hookpipe's own messages say what happened.

    Its modules' loggers each set their own level when imported (``LOGLEVEL``, else
    WARNING), so the parent's level alone does not hold them back.
    """
    prefix = "torch.distributed.elastic"
    for name in [prefix, *(n for n in logging.root.manager.loggerDict if n.startswith(prefix + "."))]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def launch(processes: int, worker_args: Sequence[str]) -> int:
    """Run ``python -m hookpipe.runtime.run WORKER_ARGS`` in ``processes`` processes; hookpipe's exit code."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # The launcher logs each failed child at ERROR (with the path of its error file), and a signal passed on
    # at WARNING ("Received 15 death signal"); the worker said why. Each module's logger has a level of its own.
    _quiet_launcher()
    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=processes, run_id=uuid.uuid4().hex,
        rdzv_backend="c10d", rdzv_endpoint=f"127.0.0.1:{_free_port()}", max_restarts=0, monitor_interval=0.1,
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as torchrun: the workers share this machine's cores
    try:
        elastic_launch(config, sys.executable)("-m", "hookpipe.runtime.run", *worker_args)
    except ChildFailedError as exc:
        _, first = exc.get_first_failure()
        code = int(first.exitcode)
        if code < 0:  # killed by a signal: -15 is SIGTERM
            return 128 - code if 128 - code in _CODES else 1
        return code if code in _CODES else 1
    except SignalException as exc:  # the launcher stopped every worker (SIGTERM, then SIGKILL after a while)
        return 130 if exc.sigval == signal.SIGINT else 143
    except KeyboardInterrupt:
        return 130
    return 0
