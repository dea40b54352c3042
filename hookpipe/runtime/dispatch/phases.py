"""Compile Plan phases into specialised Python source, at load time.

A loop over ``Call`` objects pays, per hook and per step, the loop itself, four
attribute reads and the guard arithmetic, fired or not. The phase's order and
guards are fixed once the Plan is loaded, so :class:`PhaseSource` writes the
loop out instead::

    try:
        f0(arg)                       # clip
        f1(arg)                       # optimize
        if (c.step >= 1000 and (c.step - 1000) % 1000 == 0) or c.last_step:
            f2(arg)                   # every consecutive call with this guard
            c.current = c3            # only before a hook that records its position
            f3(arg)
    except RunFailure:
        raise
    except Exception as exc:
        fail(exc)

The test is the text :meth:`hookpipe.compiler.plan.Guard.condition` writes over
the run's :class:`~hookpipe.runtime.dispatch.channels.Counters` (``c``), so the guard has one
definition. A run of consecutive calls with the same guard shares one test, so a
hook that does not fire costs nothing of its own. The ``try`` is free until
something raises (Python 3.11+); then the line of the failing call, read from the
traceback, names the hook for :class:`~hookpipe.runtime.errors.HookFailure`. The
source is registered with :mod:`linecache`, so tracebacks through it are readable.

:func:`compile_phase` makes one phase a function (the scopes outside a step, and a
resumed run's unfinished phase); :mod:`hookpipe.runtime.loop.step_program` writes the
phases of a whole training step into one function with the same writer.
"""

from __future__ import annotations

import linecache
from itertools import count
from typing import Any, Callable, NoReturn, Sequence

from hookpipe.compiler.plan import Guard
from hookpipe.runtime.errors import HookFailure, RunFailure

__all__ = ["PhaseSource", "compile_phase", "guard_source"]

PhaseFn = Callable[[Any], None]
_SERIAL = count()


def _nothing(arg: Any) -> None:
    """The compiled form of an empty phase."""


def guard_source(guard: Guard, counters: str = "c") -> str | None:
    """The guard as a Python expression over the counters object named ``counters``.

    Example:
        >>> guard_source(Guard("step", 1000, 1000))
        '(c.step >= 1000 and (c.step - 1000) % 1000 == 0)'
    """
    if guard.unit is None:
        return None
    return guard.condition(f"{counters}.{guard.unit}", f"{counters}.last_{guard.unit}")


class PhaseSource:
    """The text of one generated function, and the objects its names refer to.

    Args:
        counters: The run's ``channels.Counters``, bound to ``c`` (read at call
            time; the trainer updates its fields in place).
    """

    def __init__(self, counters: Any) -> None:
        self.counters = counters
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"c": counters, "RunFailure": RunFailure, "fail": self._fail}
        self._by_line: dict[int, Any] = {}
        self._names = count()

    def line(self, depth: int, text: str) -> None:
        """Append ``text`` indented ``depth`` levels."""
        self.lines.append("    " * depth + text)

    def name(self, value: Any, prefix: str = "f") -> str:
        """A fresh global name in the generated function bound to ``value``."""
        name = f"{prefix}{next(self._names)}"
        self.env[name] = value
        return name

    def calls(self, calls: Sequence[Any], arg: str, depth: int) -> None:
        """Run ``calls`` (``channels.Call``) in order on ``arg``, guards inlined.

        A call whose ``marks_position`` is set first stores itself in
        ``c.current``, so a checkpoint it writes knows where in its phase the run
        stands; the others pay nothing for it.
        """
        if not calls:
            return
        self.line(depth, "try:")
        previous: str | None = None
        for call in calls:
            guard = guard_source(call.guard)
            if guard != previous or guard is None:
                if guard is not None:
                    self.line(depth + 1, f"if {guard}:")
                previous = guard
            inner = depth + (2 if guard is not None else 1)
            if call.marks_position:
                self.line(inner, f"c.current = {self.name(call, 'c')}")
            self.line(inner, f"{self.name(call.fn)}({arg})  # {call.hook}.{call.callback}")
            self._by_line[len(self.lines)] = call
        self.line(depth, "except RunFailure:")
        self.line(depth + 1, "raise")
        self.line(depth, "except Exception as exc:")
        self.line(depth + 1, "fail(exc)")

    def callbacks(self, fns: Sequence[Callable[[Any], Any]], arg: str, depth: int) -> None:
        """Call ``fns`` (a seed channel's registered callbacks) in order: unguarded, errors as raised."""
        for fn in fns:
            self.line(depth, f"{self.name(fn)}({arg})")

    def _fail(self, exc: Exception) -> NoReturn:
        tb = exc.__traceback__
        call = self._by_line.get(tb.tb_lineno) if tb is not None else None
        if call is None:  # not raised by a hook call (cannot happen with int guards)
            raise exc
        raise HookFailure(call.hook, call.callback, global_step=self.counters.global_step, span=call.span,
                          steps=self.counters.step) from exc

    def compile(self, name: str, function: str = "run") -> Callable[..., Any]:
        """Execute the source and return its function ``function``, named ``name``."""
        source = "\n".join(self.lines) + "\n"
        filename = f"<hookpipe {name} #{next(_SERIAL)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), self.env)  # noqa: S102 - our own generated source
        fn: Callable[..., Any] = self.env[function]
        fn.__name__ = fn.__qualname__ = name.replace(".", "_")
        return fn


def compile_phase(calls: Sequence[Any], counters: Any, name: str) -> PhaseFn:
    """One function running ``calls`` (``channels.Call``) in order, guards inlined.

    Args:
        calls: The phase's compiled entries, in Plan order.
        counters: The run's ``channels.Counters``.
        name: The phase, for the function's name and its pseudo file name.
    """
    if not calls:
        return _nothing
    src = PhaseSource(counters)
    src.line(0, "def run(arg):")
    src.calls(calls, "arg", 1)
    return src.compile(f"phase {name}")
