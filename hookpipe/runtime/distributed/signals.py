"""Graceful stops: SIGTERM and SIGINT finish the current step, then stop.

A scheduler's SIGTERM (or a Ctrl-C) should not cost the work since the last
checkpoint. The first signal only sets :attr:`StopRequest.signum`; the trainer
looks at it once per step, after the step's hooks, writes a checkpoint when the
Plan has a checkpoint hook, and raises :class:`RunInterrupted`. A second signal
of the same kind stops at once (``KeyboardInterrupt`` / the previous handler), for
a run stuck inside a step.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from types import FrameType
from typing import Any, Callable

from hookpipe.runtime.errors import RunInterrupted

__all__ = ["EXIT_CODES", "GRACE_ENV", "RunInterrupted", "StopRequest"]

#: Seconds a signalled run may take to finish its step and checkpoint before the
#: process ends anyway (default 60; 0 disables the watchdog).
GRACE_ENV = "HOOKPIPE_STOP_GRACE_S"

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
        self._start_watchdog()

    def uninstall(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        self._stop_watchdog()

    def _start_watchdog(self) -> None:
        """End the process if a signalled run does not stop within the grace period.

        A rank blocked in a collective (its peers gone, or waiting elsewhere) never
        returns to Python, so the handler above never runs and the signal would be
        ignored. The C-level handler still writes the signal's number to the wakeup
        fd; a thread reading it starts the clock, and after the grace period the
        process exits with 128 + the signal, saying why.
        """
        grace = float(os.environ.get(GRACE_ENV, "60") or 0)
        if grace <= 0:
            return
        reader, writer = socket.socketpair()
        reader.setblocking(True)
        writer.setblocking(False)
        try:
            self._previous_wakeup = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main thread of the main interpreter
            reader.close()
            writer.close()
            return
        self._wakeup: tuple[socket.socket, socket.socket] | None = (reader, writer)
        self._done = threading.Event()
        threading.Thread(target=self._watch, args=(reader, grace, self._done), name="hookpipe-stop-watchdog",
                         daemon=True).start()

    def _watch(self, reader: socket.socket, grace: float, done: threading.Event) -> None:
        while not done.is_set():
            try:
                data = reader.recv(16)
            except OSError:
                return
            if not data:
                return
            numbers = [n for n in data if n in (int(s) for s in EXIT_CODES)]
            if numbers and not done.wait(grace):
                name = signal.Signals(numbers[0]).name
                rank = os.environ.get("RANK")
                where = f"[rank {rank}] " if rank is not None and os.environ.get("WORLD_SIZE", "1") != "1" else ""
                sys.stderr.write(f"{where}hookpipe run: {name} received and the run did not stop within {grace:g} s "
                                 f"(blocked, e.g. waiting for another process); exiting now without a checkpoint "
                                 f"(set {GRACE_ENV} to wait longer)\n")
                sys.stderr.flush()
                os._exit(EXIT_CODES.get(signal.Signals(numbers[0]), 128 + numbers[0]))

    def _stop_watchdog(self) -> None:
        wakeup = getattr(self, "_wakeup", None)
        if wakeup is None:
            return
        self._done.set()
        try:
            signal.set_wakeup_fd(self._previous_wakeup)
        except ValueError:
            pass
        for end in reversed(wakeup):  # the writer first: the reader sees end-of-file and its thread ends
            end.close()
        self._wakeup = None

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
