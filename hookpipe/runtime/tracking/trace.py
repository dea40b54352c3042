"""``HOOKPIPE_TRACE=FILE``: one JSON line per hook callback that fires.

The line is ``[step, epoch, scope, phase, hook]``, the fields of
:class:`hookpipe.compiler.schedule.Firing` (``step`` and ``epoch`` 0-based, None
outside their scope), so a real run can be compared with ``hookpipe explain
--steps`` line for line. Lines are written unbuffered (a SIGKILL loses nothing
written), the count is stored in checkpoints, and a resumed run cuts the file
back to that count: the trace of an interrupted-and-resumed run reads like the
uninterrupted one. Off unless the variable is set: then calls are not wrapped.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

from hookpipe.compiler.loop import STEP_SCOPES
from hookpipe.runtime.dispatch.channels import Counters

__all__ = ["Tracer", "tracer_from_env"]



class Tracer:
    """Appends firings to a file; knows how many lines it holds."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        with open(path, "rb") as f:
            self.count = sum(1 for _ in f)

    def truncate(self, count: int) -> None:
        """Keep the first ``count`` lines (a resumed run forgets what came after its checkpoint)."""
        with open(self.path, "rb") as f:
            lines = f.readlines()[:count]
        os.ftruncate(self._fd, 0)
        os.write(self._fd, b"".join(lines))
        self.count = len(lines)

    def wrap_entry(self, fn: Callable[[Any], Any], counters: Counters, scope: str, phase: str, spec: Any,
                   entry: Any) -> Callable[[Any], Any]:
        """A :data:`~hookpipe.runtime.plan.plan_hooks.Wrapper` that records each firing."""
        return self.wrap(fn, counters, scope, phase, entry.hook)

    def wrap(
        self, fn: Callable[[Any], Any], counters: Counters, scope: str, phase: str, hook: str
    ) -> Callable[[Any], Any]:
        def traced(arg: Any) -> Any:
            step = counters.global_step if scope in STEP_SCOPES else None
            epoch = counters.epoch - 1 if scope != "loop" else None
            os.write(self._fd, (json.dumps([step, epoch, scope, phase, hook]) + "\n").encode())
            self.count += 1
            return fn(arg)

        return traced


def tracer_from_env(process_index: int, num_processes: int) -> Tracer | None:
    """The tracer ``HOOKPIPE_TRACE`` asks for (``FILE.RANK`` when there are several processes)."""
    path = os.environ.get("HOOKPIPE_TRACE")
    if not path:
        return None
    return Tracer(path if num_processes == 1 else f"{path}.{process_index}")
