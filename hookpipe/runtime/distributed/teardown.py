"""Ending a process of a distributed run: barrier, destroy the process group, exit.

A distributed run must not be left to interpreter shutdown: gloo's C++ worker
threads can still hold objects with Python references while the interpreter is
torn down, and that rank then aborts ("terminate called without an active
exception", exit -6; 4 of 30 two-process runs here), failing the whole launch
after its work was done. :func:`exit_process` is the one way hookpipe ends such a
process: ``hookpipe run``, ``python -m hookpipe.runtime.run``, and every
multi-process test worker call it, and a Python-API script under ``accelerate
launch`` should end with it too (``docs/runtime.md``).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

__all__ = ["exit_process"]


def exit_process(code: int = 0) -> NoReturn:
    """End this process with exit ``code``, tearing down its process group first if there is one.

    After a successful run (``code == 0``) every rank waits for the others
    (``barrier``); then the process group is destroyed, logging and output are
    flushed, and the process ends without finalisation (``os._exit``), so no gloo
    thread outlives the interpreter. Checkpoints are already closed and renamed by
    then. After a failure ranks may be stuck, so there is nothing to wait for. A
    process without a process group simply exits (``sys.exit``).

    Example:
        >>> trainer()                       # doctest: +SKIP
        >>> exit_process(0)                 # the script's last line, on every rank  # doctest: +SKIP
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if code == 0:
            dist.barrier()
        dist.destroy_process_group()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
