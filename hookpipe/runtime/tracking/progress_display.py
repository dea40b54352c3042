"""Progress of a ``.pipe`` run on the main process: a bar on a terminal, plain lines elsewhere.

On an interactive terminal a tqdm bar shows steps done, steps/s, the ETA and the
latest loss. When stderr is not a terminal (CI logs, ``nohup``, a pipe) a bar's
carriage returns would make a mess, so a plain line is written each time another
tenth of the run is done (every 100 steps when the run's length is unknown)::

    step 450/2250 (20%): loss 0.3124, 41.2 steps/s, ETA 0:00:43

While the bar is shown, everything else the run prints on the main process
(validation lines, ``log`` and warnings written to ``sys.stdout``/``sys.stderr``)
goes *above* it, line by line, the way ``tqdm.write`` does: the bar is cleared, the
line written, the bar drawn again, so no line lands inside the bar and no stale bar
is left behind. When the run ends the bar is brought to the steps actually done
(100% for a run that reached its end) before it closes; its count is steps done,
the numbering validation lines and the summary use.

``trainer { progress = false }`` turns both off; other processes never show any.
The trainer calls :meth:`ProgressDisplay.update` after every step; it returns at
once except a few times a second (terminal) or at the next line (plain), so the
loss's ``.item()`` (a device sync) happens only then.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import IO, Any

__all__ = ["ProgressDisplay"]

_REFRESH_S = 0.2
_LINES = 10
_UNKNOWN_EVERY = 100


def _loss(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value.detach() if hasattr(value, "detach") else value)
    except (TypeError, ValueError):
        return None


class ProgressDisplay:
    """A bar (``interactive``) or periodic lines for a run of ``total`` steps (None: unknown).

    Args:
        total: Steps in the run, if known.
        start: Steps already done (after a resume).
        stream: Where to write (stderr by default, like tqdm).
        interactive: Bar or lines; by default whether ``stream`` is a terminal.
    """

    def __init__(self, total: int | None, start: int = 0, stream: IO[str] | None = None,
                 interactive: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.total, self.start = total, start
        self._t0 = time.perf_counter()
        self._bar: Any = None
        self._shown = start
        self._every = max(1, -(-(total - start) // _LINES)) if total else _UNKNOWN_EVERY
        #: The count of steps done at which :meth:`update` next does anything (before it, it
        #: returns at once; the fused step tests this itself instead of calling it).
        self.next_update = start + (1 if self.interactive else self._every)
        self._last_refresh = self._t0
        #: ``(sys.stdout, sys.stderr)`` while the bar routes them above itself.
        self._saved: tuple[Any, Any] | None = None

    def update(self, done: int, loss: Any) -> None:
        """``done`` steps completed; ``loss`` is the last step's (a tensor or number)."""
        if done < self.next_update:
            return
        if self.interactive:
            self._refresh_bar(done, loss)
        else:
            self._line(done, loss)
            self.next_update = done + self._every

    def catch_up(self, done: int, loss: Any) -> None:
        """Show ``done`` on the bar now (at an epoch's end, before its validation line goes above it)."""
        if self.interactive and done > self._shown:
            self._refresh_bar(done, loss)
            self._bar.refresh()  # drawn now, not when tqdm's own interval has passed

    def _rate(self, done: int, now: float) -> float | None:
        elapsed = now - self._t0
        return (done - self.start) / elapsed if elapsed > 0 and done > self.start else None

    def _refresh_bar(self, done: int, loss: Any) -> None:
        now = time.perf_counter()
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, initial=self.start, unit="step", file=self.stream, dynamic_ncols=True)
            self._redirect()
        self._bar.update(done - self._shown)
        self._shown = done
        value = _loss(loss)
        if value is not None:
            self._bar.set_postfix(loss=f"{value:.4f}", refresh=False)
        rate = self._rate(done, now)
        # Next look after about _REFRESH_S at the current rate: most steps cost one comparison.
        self.next_update = done + max(1, int((rate or 0) * _REFRESH_S))

    def _line(self, done: int, loss: Any) -> None:
        now = time.perf_counter()
        parts = []
        value = _loss(loss)
        if value is not None:
            parts.append(f"loss {value:.4f}")
        rate = self._rate(done, now)
        if rate:
            parts.append(f"{rate:.1f} steps/s")
            if self.total:
                parts.append(f"ETA {timedelta(seconds=round((self.total - done) / rate))}")
        where = f"step {done}/{self.total} ({100 * done // self.total}%)" if self.total else f"step {done}"
        print(f"{where}: {', '.join(parts)}", file=self.stream, flush=True)

    def _redirect(self) -> None:
        """Route the process's other output above the bar (undone by :meth:`close`)."""
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = _AboveBar(self, sys.stdout), _AboveBar(self, sys.stderr)

    def write_above(self, target: IO[str], line: str) -> None:
        """Write ``line`` to ``target`` above the bar (``tqdm.write``'s clear, write, redraw)."""
        bar = self._bar
        if bar is not None:
            bar.clear()
        target.write(line)
        target.flush()
        if bar is not None:
            bar.refresh()

    def close(self, done: int | None = None) -> None:
        """Close the bar (the run ended, or failed); ``done``: the steps done, shown before it closes."""
        if self._bar is not None:
            saved = self._saved
            if saved is not None:
                for proxy in (sys.stdout, sys.stderr):
                    if isinstance(proxy, _AboveBar):
                        proxy.flush_rest()
                sys.stdout, sys.stderr = saved
                self._saved = None
            if done is not None and done > self._shown:
                self._bar.update(done - self._shown)
                self._shown = done
            self._bar.close()
            self._bar = None


class _AboveBar:
    """A ``sys.stdout``/``sys.stderr`` stand-in that writes whole lines above the bar."""

    def __init__(self, display: ProgressDisplay, target: IO[str]) -> None:
        self._display, self._target, self._pending = display, target, ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            lines, _, self._pending = self._pending.rpartition("\n")
            self._display.write_above(self._target, lines + "\n")
        return len(text)

    def flush_rest(self) -> None:
        if self._pending:
            self._display.write_above(self._target, self._pending + "\n")
            self._pending = ""

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding...: the real stream's
        return getattr(self._target, name)
