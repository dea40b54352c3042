"""Compile one Plan phase's calls into a specialised Python function, at load time.

A loop over ``Call`` objects pays, per hook and per step, the loop itself, four
attribute reads and the guard arithmetic, fired or not. The phase's order and
guards are fixed once the Plan is loaded, so :func:`compile_phase` writes the
loop out instead::

    def step_after(arg):
        try:
            f0(arg)                       # clip
            f1(arg)                       # optimize
            if (counts[1] >= 1000 and (counts[1] - 1000) % 1000 == 0) or lasts[1]:
                f2(arg)                   # every consecutive call with this guard
                f3(arg)
        except RunFailure:
            raise
        except Exception as exc:
            fail(exc)

A run of consecutive calls with the same guard shares one test, so a hook that
does not fire costs nothing of its own. The ``try`` is free until something raises
(Python 3.11+); then the line of the failing call, read from the traceback, names
the hook for :class:`~hookpipe.runtime.errors.HookFailure`. The source is
registered with :mod:`linecache`, so tracebacks through it are readable.
"""

from __future__ import annotations

import linecache
from itertools import count
from typing import Any, Callable, NoReturn, Sequence

from hookpipe.runtime.errors import HookFailure, RunFailure

__all__ = ["compile_phase", "guard_source"]

PhaseFn = Callable[[Any], None]
_SERIAL = count()


def _nothing(arg: Any) -> None:
    """The compiled form of an empty phase."""


def guard_source(unit: int, start: int, every: int, at_end: bool) -> str | None:
    """The guard as a Python expression over ``counts``/``lasts`` (None: always fires).

    Example:
        >>> guard_source(1, 1000, 1000, False)
        '(counts[1] >= 1000 and (counts[1] - 1000) % 1000 == 0)'
    """
    if not unit:
        return None
    n = f"counts[{unit}]"
    test = f"{n} >= {start}" if every == 1 else f"{n} >= {start} and ({n} - {start}) % {every} == 0"
    return f"({test}) or lasts[{unit}]" if at_end else f"({test})"


def compile_phase(calls: Sequence[Any], counts: list[int], lasts: list[bool], global_step: Callable[[], int],
                  name: str, track: Any = None) -> PhaseFn:
    """One function running ``calls`` (``channels.Call``) in order, guards inlined.

    Args:
        calls: The phase's compiled entries, in Plan order.
        counts: The run's counter list (read at call time; the trainer updates it in place).
        lasts: The run's "last occurrence" flags, likewise.
        global_step: Returns the current global step, for failure reports.
        name: The phase, for the function's name and its pseudo file name.
        track: When given, ``track.current`` is set to each call before it runs, so a
            checkpoint written by a hook knows where in its phase the run stands.
    """
    if not calls:
        return _nothing
    env: dict[str, Any] = {"counts": counts, "lasts": lasts, "RunFailure": RunFailure, "track": track}
    lines = ["def run(arg):", "    try:"]
    by_line: dict[int, Any] = {}
    previous: str | None = None
    for i, call in enumerate(calls):
        guard = guard_source(call.unit, call.start, call.every, call.at_end)
        if guard != previous or guard is None:
            if guard is not None:
                lines.append(f"        if {guard}:")
            previous = guard
        indent = "            " if guard is not None else "        "
        env[f"f{i}"] = call.fn
        if track is not None:
            env[f"c{i}"] = call
            lines.append(f"{indent}track.current = c{i}")
        lines.append(f"{indent}f{i}(arg)  # {call.hook}.{call.callback}")
        by_line[len(lines)] = call
    lines += ["    except RunFailure:", "        raise", "    except Exception as exc:", "        fail(exc)", ""]

    def fail(exc: Exception) -> NoReturn:
        tb = exc.__traceback__
        call = by_line.get(tb.tb_lineno) if tb is not None else None
        if call is None:  # not raised by a hook call (cannot happen with int guards)
            raise exc
        raise HookFailure(call.hook, call.callback, global_step=global_step(), span=call.span) from exc

    env["fail"] = fail
    source = "\n".join(lines)
    filename = f"<hookpipe phase {name} #{next(_SERIAL)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), env)  # noqa: S102 - our own generated source
    fn: PhaseFn = env["run"]
    fn.__name__ = fn.__qualname__ = name.replace(".", "_")
    return fn
