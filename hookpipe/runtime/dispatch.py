"""Compile one Plan phase's calls into a specialised Python function, at load time.

A loop over ``Call`` objects pays, per hook and per step, the loop itself, four
attribute reads and the guard arithmetic, fired or not. The phase's order and
guards are fixed once the Plan is loaded, so :func:`compile_phase` writes the
loop out instead::

    def step_after(arg):
        try:
            f0(arg)                       # clip
            f1(arg)                       # optimize
            if (c.step >= 1000 and (c.step - 1000) % 1000 == 0) or c.last_step:
                f2(arg)                   # every consecutive call with this guard
                f3(arg)
        except RunFailure:
            raise
        except Exception as exc:
            fail(exc)

The test is the text :meth:`hookpipe.compiler.plan.Guard.condition` writes over
the run's :class:`~hookpipe.runtime.channels.Counters` (``c``), so the guard has one
definition. A run of consecutive calls with the same guard shares one test, so a hook that
does not fire costs nothing of its own. The ``try`` is free until something raises
(Python 3.11+); then the line of the failing call, read from the traceback, names
the hook for :class:`~hookpipe.runtime.errors.HookFailure`. The source is
registered with :mod:`linecache`, so tracebacks through it are readable.
"""

from __future__ import annotations

import linecache
from itertools import count
from typing import Any, Callable, NoReturn, Sequence

from hookpipe.compiler.plan import Guard
from hookpipe.runtime.errors import HookFailure, RunFailure

__all__ = ["compile_phase", "guard_source"]

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


def compile_phase(calls: Sequence[Any], counters: Any, name: str, track: bool = False) -> PhaseFn:
    """One function running ``calls`` (``channels.Call``) in order, guards inlined.

    Args:
        calls: The phase's compiled entries, in Plan order.
        counters: The run's ``channels.Counters`` (read at call time; the trainer
            updates its fields in place).
        name: The phase, for the function's name and its pseudo file name.
        track: Set ``counters.current`` to each call before it runs, so a
            checkpoint written by a hook knows where in its phase the run stands.
    """
    if not calls:
        return _nothing
    env: dict[str, Any] = {"c": counters, "RunFailure": RunFailure}
    lines = ["def run(arg):", "    try:"]
    by_line: dict[int, Any] = {}
    previous: str | None = None
    for i, call in enumerate(calls):
        guard = guard_source(call.guard)
        if guard != previous or guard is None:
            if guard is not None:
                lines.append(f"        if {guard}:")
            previous = guard
        indent = "            " if guard is not None else "        "
        env[f"f{i}"] = call.fn
        if track:
            env[f"c{i}"] = call
            lines.append(f"{indent}c.current = c{i}")
        lines.append(f"{indent}f{i}(arg)  # {call.hook}.{call.callback}")
        by_line[len(lines)] = call
    lines += ["    except RunFailure:", "        raise", "    except Exception as exc:", "        fail(exc)", ""]

    def fail(exc: Exception) -> NoReturn:
        tb = exc.__traceback__
        call = by_line.get(tb.tb_lineno) if tb is not None else None
        if call is None:  # not raised by a hook call (cannot happen with int guards)
            raise exc
        raise HookFailure(call.hook, call.callback, global_step=counters.global_step, span=call.span) from exc

    env["fail"] = fail
    source = "\n".join(lines)
    filename = f"<hookpipe phase {name} #{next(_SERIAL)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), env)  # noqa: S102 - our own generated source
    fn: PhaseFn = env["run"]
    fn.__name__ = fn.__qualname__ = name.replace(".", "_")
    return fn
