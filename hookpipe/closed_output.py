"""Output whose reader went away: ``hookpipe run | head -1``, a pager quit early.

Python ignores SIGPIPE, so once the program reading a pipe has exited every write
to it raises ``BrokenPipeError``: in whichever hook, progress line or summary
prints next (ending a training run before its checkpoint), or in the flush at
interpreter shutdown ("Exception ignored ... BrokenPipeError", exit status 120).
The ``signal`` module's documentation ("Note on SIGPIPE") says what to do
instead: on ``BrokenPipeError``, point the descriptor at ``os.devnull`` so the rest
of the output, and the flush at exit, go nowhere without an error.

:func:`guarded_output` does that in one place for everything the process prints
through ``sys.stdout`` and ``sys.stderr`` (``print``, ``accelerator.print``, the
progress display, tracebacks): it puts a stand-in on each that passes every call
through, and on the first ``BrokenPipeError`` of a write or flush moves that
stream's descriptor to ``os.devnull`` (so writers holding the original object, a
logging handler or a child process, stop failing too), and carries on as though
the write had succeeded. ``hookpipe`` enters it around every command
(``hookpipe.cli``); ``hookpipe run`` enters it again with a note to print on
stderr when stdout's reader goes away (``hookpipe.runtime.run``).
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, TextIO

__all__ = ["guarded_output"]

_LOCK = threading.Lock()


class _Guarded:
    """A ``sys.stdout``/``sys.stderr`` stand-in: when the reader has gone, the output goes to ``os.devnull``."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self._name = name
        #: Printed on stderr (if it is still open) when this stream's reader goes away.
        self.note: str | None = None
        #: Whether the reader went away (the output now goes to ``os.devnull``).
        self.discarding = False

    @property
    def wrapped(self) -> TextIO:
        """The stream this one stands in for."""
        return self._stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer...: the real stream's
        return getattr(self._stream, name)

    def _discard(self) -> None:
        """Send this stream's descriptor, and what it still buffers, to ``os.devnull``."""
        with _LOCK:
            first = not self.discarding
            self.discarding = True
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(devnull, self._stream.fileno())
                finally:
                    os.close(devnull)
                self._stream.flush()  # the bytes the pipe refused, now into os.devnull
            except (OSError, ValueError, AttributeError):  # no descriptor (a StringIO), or closed
                self._stream = open(os.devnull, "w", encoding="utf-8")  # kept open: it stands in from now on
        if first and self.note is not None and self._name == "stdout":
            _say(self.note)

    def __repr__(self) -> str:
        return f"<guarded {self._stream!r}>"


def _say(note: str) -> None:
    """``note`` on the current ``sys.stderr`` (above a progress bar, when one routes it); quiet when it is closed."""
    try:
        print(note, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


@contextmanager
def guarded_output(note: str | None = None) -> Iterator[None]:
    """Within the block, a reader closing stdout or stderr discards the rest of that output instead of raising.

    Nested uses share one stand-in per stream (an inner ``note`` applies inside the
    inner block). On leaving, both streams are flushed (a reader gone before the
    last flush is handled here, not at interpreter shutdown) and the original
    streams are put back, unless something else has replaced them meanwhile.

    Args:
        note: One line printed on stderr, if it is still open, when stdout's reader goes away.

    Example:
        >>> with guarded_output():  # doctest: +SKIP
        ...     print("a line nobody may read")
    """
    installed: list[tuple[str, _Guarded]] = []
    guards: list[_Guarded] = []
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if current is None:  # pythonw, a daemon: nothing to guard
            continue
        if isinstance(current, _Guarded):
            guard = current
        else:
            guard = _Guarded(current, name)
            setattr(sys, name, guard)
            installed.append((name, guard))
        guards.append(guard)
    saved_notes = [guard.note for guard in guards]
    if note is not None:
        for guard in guards:
            guard.note = note
    try:
        yield
    finally:
        for guard in guards:
            guard.flush()
        for guard, saved in zip(guards, saved_notes):
            guard.note = saved
        for name, guard in installed:
            if getattr(sys, name) is guard:
                setattr(sys, name, guard.wrapped)
