"""Graceful stops: SIGTERM and SIGINT finish the current step, then stop.

A scheduler's SIGTERM (or a Ctrl-C) should not cost the work since the last
checkpoint. The first signal only sets :attr:`StopRequest.signum`; the trainer
looks at it once per step, after the step's hooks, writes a checkpoint when the
Plan has a checkpoint hook, and raises :class:`RunInterrupted`. A second signal
of the same kind stops at once (``KeyboardInterrupt`` / the previous handler), for
a run stuck inside a step.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, Callable

from hookpipe.runtime.errors import RunInterrupted

__all__ = ["EXIT_CODES", "RunInterrupted", "StopRequest"]

#: Exit status for a run stopped by each signal (128 + signal number, as shells do).
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopRequest:
    """Set by signal handlers or hooks; read by the trainer between steps."""

    def __init__(self) -> None:
        self.signum: int | None = None
        #: A hook's reason to stop (e.g. nan_guard), with the exit code to use.
        self.reason: str | None = None
        self.exit_code = 0
        #: The request was made on every process at the same step (a collective
        #: decision, like nan_guard's), so no agreement is needed to act on it.
        self.everywhere = False
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None or self.reason is not None

    def request(self, reason: str, exit_code: int, everywhere: bool = False) -> None:
        """Ask the trainer to stop after the current step (a hook's request).

        ``everywhere``: every process makes this request after the same step (its
        reason was all-reduced), so the run stops right after it; otherwise other
        processes learn of it within the interval of :mod:`.stop_agreement`.
        """
        if not self.requested:
            self.reason, self.exit_code, self.everywhere = reason, exit_code, everywhere

    def describe(self) -> tuple[str, int]:
        """The reason to print and the exit code."""
        if self.signum is not None:
            name = signal.Signals(self.signum).name
            return f"stopped by {name}", EXIT_CODES.get(signal.Signals(self.signum), 128 + self.signum)
        return self.reason or "stopped", self.exit_code

    def install(self) -> None:
        """Handle SIGTERM and SIGINT (main thread only; elsewhere signals keep their default)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in EXIT_CODES:
            self._previous[signum] = signal.signal(signum, self._handler(signum))

    def uninstall(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handler(self, signum: int) -> Callable[[int, FrameType | None], None]:
        def handle(received: int, frame: FrameType | None) -> None:
            if self.signum == received:  # the second one: stop now
                previous = self._previous.get(received)
                if callable(previous):
                    previous(received, frame)
                    return
                raise KeyboardInterrupt
            self.signum = received

        return handle
