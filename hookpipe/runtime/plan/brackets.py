"""Brackets at run time: ``with NAME { ... }`` as one call of the phase.

A bracket's Plan entry holds the entries inside it. It runs as one
:class:`BracketCall`: when at least one entry inside fires, the bracket hook's
``enter(args)``, the entries that fire in order, then its ``exit(args)``, which
runs also when an entry inside raises (the error goes on outwards after it, with
a note if ``exit`` failed too). When nothing inside fires the bracket does not
run at all, as ``explain --steps`` shows (``hookpipe.compiler.schedule.firing``).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from hookpipe.compiler.plan import BRACKET_ENTER, BRACKET_EXIT, Guard, HookSpec, PlanEntry
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.dispatch.channels import Call, Counters
from hookpipe.runtime.errors import HookFailure, PlanResolveError, RunFailure, add_note

__all__ = ["BracketCall", "bracket_callbacks"]

_log = logging.getLogger(__name__)


def bracket_callbacks(instance: Any, spec: HookSpec, entry: PlanEntry) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The bracket hook's ``enter`` and ``exit``; a clear error when it has not both."""
    enter, exit_ = getattr(instance, BRACKET_ENTER, None), getattr(instance, BRACKET_EXIT, None)
    if not callable(enter) or not callable(exit_):
        raise PlanResolveError(
            f"hook '{spec.name}' ({spec.span.file}:{spec.span.line}): {type(instance).__name__} is used as a bracket "
            f"(`with {spec.name} {{ ... }}` at {entry.span.file}:{entry.span.line}) but has no "
            f"`{BRACKET_ENTER}(args)` and `{BRACKET_EXIT}(args)` methods")
    return enter, exit_


class BracketCall(Call):
    """One bracket: its hook's enter, the calls inside that fire, its exit (also on error)."""

    __slots__ = ("inner", "enter", "exit", "counters")

    def __init__(self, entry: PlanEntry, enter: Callable[[PipelineHookArgs], Any],
                 exit_: Callable[[PipelineHookArgs], Any], inner: tuple[Call, ...], counters: Counters) -> None:
        super().__init__(self._run, guard=Guard(), always=False, hook=entry.hook, callback=BRACKET_ENTER,
                         span=entry.span)
        self.inner = inner
        self.enter = enter
        self.exit = exit_
        self.counters = counters

    def nested(self) -> tuple[Call, ...]:
        return (self, *(n for c in self.inner for n in c.nested()))

    def fires(self, counters: Counters) -> bool:
        """Whether anything inside fires now (a bracket around nothing does not run)."""
        return any(c.fires(counters) for c in self.inner)

    def _fail(self, callback: str, exc: Exception) -> HookFailure:
        failure = HookFailure(self.hook, callback, global_step=self.counters.global_step, span=self.span)
        failure.__cause__ = exc
        return failure

    def _run(self, arg: PipelineHookArgs) -> None:
        counters = self.counters
        fired = [c for c in self.inner if c.fires(counters)]
        if not fired:
            return
        try:
            self.enter(arg)
        except RunFailure:
            raise
        except Exception as exc:
            raise self._fail(BRACKET_ENTER, exc) from exc
        try:
            for c in fired:
                counters.current = c
                try:
                    c.fn(arg)
                except RunFailure:
                    raise
                except Exception as exc:
                    raise HookFailure(c.hook, c.callback, global_step=counters.global_step, span=c.span) from exc
        except BaseException as error:
            try:
                self.exit(arg)
            except Exception as exc:  # the failure inside matters more
                add_note(error, f"bracket '{self.hook}' ({BRACKET_EXIT}) also failed: {type(exc).__name__}: {exc}")
                _log.warning("bracket %r failed to exit during error handling", self.hook, exc_info=exc)
            raise
        try:
            self.exit(arg)
        except RunFailure:
            raise
        except Exception as exc:
            raise self._fail(BRACKET_EXIT, exc) from exc
