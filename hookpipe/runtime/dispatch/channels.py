"""Hook channels: the per-scope dispatchers the trainer enters with ``with``.

Two kinds share one failure rule (SPEC 4): when a scope's body (or one of its
``before`` callbacks) raises, its ordinary ``after`` callbacks do not run, only the
callbacks marked :func:`always`, and the error goes on outwards. RoboOrchard's own
channels run every ``after`` in a ``finally``, which would step the optimizer on a
failed batch; this is the one deliberate behavioural difference from the seed.

* :class:`Channel` is the seed's registration-order channel (a robo_orchard_core
  ``HookContextChannel``), used by a trainer built in Python.
* :class:`PlanChannel` runs one scope's two Plan phases through functions compiled at
  load time (:mod:`hookpipe.runtime.dispatch.phases`): no name lookups, no argument
  objects, and one integer test per run of consecutive calls sharing a guard.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Literal, NoReturn, TypeVar

from robo_orchard_core.utils.hook import HookContext, HookContextChannel, HookContextFromCallable, RemoveableHandle
from robo_orchard_core.utils.string import add_indentation

from hookpipe.compiler.plan import UNITS, Guard, Unit
from hookpipe.dsl.span import Span
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.dispatch.phases import compile_phase
from hookpipe.runtime.errors import HookFailure, RunFailure, RunInterrupted, ScopeFailure, add_note

__all__ = ["REGISTRATIONS", "Call", "Channel", "Counters", "PlanChannel", "PlanScope", "Registrations", "SeedScope",
           "always", "is_always", "run_calls", "wrapped_callables"]

_log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
SeedCallback = Callable[[PipelineHookArgs], Any]

def always(fn: F) -> F:
    """Mark a callback to run even when its scope failed (cleanup).

    Example:
        >>> class Timer:
        ...     @always
        ...     def on_loop_end(self, args): ...
    """
    fn.__hookpipe_always__ = True  # type: ignore[attr-defined]
    return fn


def is_always(fn: Callable[..., Any] | None) -> bool:
    """Whether ``fn`` (a function, bound method or HookContext) is marked :func:`always`."""
    if fn is None:
        return False
    if isinstance(fn, HookContext):
        fn = wrapped_callables(fn)[1]
    target = getattr(fn, "__func__", fn)
    return bool(getattr(target, "__hookpipe_always__", False))


class Counters:
    """The run's frequency counters: written by the trainer, read by the guards.

    One field per guard unit, named after it (:data:`hookpipe.compiler.plan.UNITS`):
    ``step`` is global_step_id + 1; ``update`` the optimizer updates so far, the
    current one included, and 0 on steps that do not synchronise gradients;
    ``epoch`` is epoch_id + 1. ``last_<unit>`` says whether it is the run's last
    step, last optimizer update, or last epoch. The compiled phases read these
    fields by name (see :mod:`.dispatch`). ``batch`` / ``last_batch`` count batches:
    in a training step the epoch's (step_id + 1, and whether it is the epoch's
    last), inside a validation run (``validation NAME { batch { } }``) that run's,
    put back when it ends. A checkpoint stores the training ones (a validation run
    is never resumed halfway).
    """

    __slots__ = ("step", "update", "epoch", "last_step", "last_update", "last_epoch", "global_step", "current",
                 "batch", "last_batch")

    def __init__(self) -> None:
        self.step = 0
        self.update = 0
        self.epoch = 0
        self.last_step = False
        self.last_update = False
        self.last_epoch = False
        self.global_step = 0
        self.batch = 0
        self.last_batch = False
        #: The last call that marks its position (``Call.marks_position``: a checkpoint)
        #: to have started: the checkpoint records where in its phase the run stopped,
        #: so a resumed run runs the rest of that phase exactly once.
        self.current: "Call | None" = None

    def count(self, unit: Unit) -> int:
        """The occurrence number a guard of ``unit`` tests."""
        return int(getattr(self, unit))

    def is_last(self, unit: Unit) -> bool:
        """Whether the current occurrence of ``unit`` is the run's last."""
        return bool(getattr(self, f"last_{unit}"))

    def snapshot(self) -> dict[str, Any]:
        """The counters as JSON (stored in checkpoints).

        The lists are the checkpoint format: index 0 is unused, then one slot per
        unit in :data:`UNITS` order, so checkpoints written by earlier versions resume.
        """
        return {
            "counts": [0, *(self.count(u) for u in UNITS)],
            "lasts": [False, *(self.is_last(u) for u in UNITS)],
            "global_step": self.global_step,
            "batch": [self.batch, self.last_batch],
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Set the counters from :meth:`snapshot` (one without ``batch``, from an earlier version: 0)."""
        for unit, count, last in zip(UNITS, data["counts"][1:], data["lasts"][1:]):
            setattr(self, unit, int(count))
            setattr(self, f"last_{unit}", bool(last))
        self.global_step = int(data["global_step"])
        batch, last_batch = data.get("batch", (0, False))
        self.batch, self.last_batch = int(batch), bool(last_batch)

    def current_step(self) -> int:
        return self.global_step


class Call:
    """One compiled plan entry: a bound callback and the guard it runs under."""

    __slots__ = ("fn", "guard", "always", "hook", "callback", "span", "marks_position")

    def __init__(
        self,
        fn: Callable[[PipelineHookArgs], Any],
        *,
        guard: Guard,
        always: bool,
        hook: str,
        callback: str,
        span: Span | None,
        marks_position: bool = False,
    ) -> None:
        self.fn = fn
        self.guard = guard
        self.always = always
        self.hook = hook
        self.callback = callback
        self.span = span
        #: Store this call in ``Counters.current`` before it runs: its hook records
        #: where in the phase the run stands (a checkpoint; see ``records_position``).
        self.marks_position = marks_position

    def nested(self) -> tuple["Call", ...]:
        """This call and every call it runs itself (a bracket's contents: ``hookpipe.runtime.plan.brackets``)."""
        return (self,)

    def fires(self, counters: Counters) -> bool:
        """:meth:`Guard.fires <hookpipe.compiler.plan.Guard.fires>` at the counters' current values."""
        unit = self.guard.unit
        if unit is None:
            return True
        return self.guard.fires(counters.count(unit), is_last=counters.is_last(unit))


def run_calls(calls: tuple[Call, ...], arg: PipelineHookArgs, counters: Counters) -> None:
    """Run ``calls`` with their guards, as a phase does (a resumed run's unfinished phase).

    The uncompiled form of :func:`hookpipe.runtime.dispatch.phases.compile_phase`, used
    once per resume, so it reads the guards through :meth:`Call.fires`.
    """
    for c in calls:
        if not c.fires(counters):
            continue
        counters.current = c
        try:
            c.fn(arg)
        except RunFailure:
            raise
        except Exception as exc:
            raise HookFailure(c.hook, c.callback, global_step=counters.global_step, span=c.span,
                              steps=counters.step) from exc


def _run_cleanup(
    calls: tuple[Call, ...], arg: PipelineHookArgs | None, counters: Counters, error: BaseException
) -> None:
    """Run the ``always`` calls after a failure; their own errors become notes.

    ``arg`` is None only when there are no calls (a scope without callbacks).
    """
    for c in calls:
        if not c.always or not c.fires(counters):
            continue
        try:
            c.fn(arg)  # type: ignore[arg-type]  # None only without calls
        except Exception as exc:  # the original failure matters more
            add_note(error, f"cleanup hook '{c.hook}' ({c.callback}) also failed: {type(exc).__name__}: {exc}")
            _log.warning("cleanup hook %r failed during error handling", c.hook, exc_info=exc)


class PlanChannel(HookContextChannel[PipelineHookArgs]):
    """A channel that runs one scope's two plan phases; it accepts no registrations."""

    def __init__(
        self,
        name: str,
        scope: str,
        befores: tuple[Call, ...],
        afters: tuple[Call, ...],
        counters: Counters,
        source: str | None,
    ) -> None:
        super().__init__(name)
        self.scope = scope
        self.counters = counters
        self.source = source
        self._set_calls(befores, afters)

    def _set_calls(self, befores: tuple[Call, ...], afters: tuple[Call, ...]) -> None:
        self.befores = befores
        self.afters = afters
        self.run_befores = compile_phase(befores, self.counters, f"{self.scope}.before")
        self.run_afters = compile_phase(afters, self.counters, f"{self.scope}.after")

    def __len__(self) -> int:
        return len(self.befores) + len(self.afters)

    def register(self, hook: HookContext[PipelineHookArgs]) -> Any:
        raise TypeError(
            f"channel {self.name!r} runs a compiled Plan; attach hooks in the .pipe file instead of registering them"
        )

    def begin(self, arg: PipelineHookArgs, skip_before: bool = False) -> "PlanScope":
        """Enter the scope; ``skip_before`` re-enters one a resumed run was already inside."""
        return PlanScope((self, arg, skip_before))

    def unregister_all(self) -> None:
        self._set_calls((), ())

    def failure(self, exc: BaseException) -> BaseException:
        """The error to propagate for a failure in this scope's body.

        A foreign exception becomes a :class:`ScopeFailure`; either way the ordinary
        ``after`` callbacks this failure skips here are added to it.
        """
        if not isinstance(exc, Exception) or isinstance(exc, RunInterrupted):
            return exc  # KeyboardInterrupt, graceful stops and friends pass through untouched
        counters = self.counters
        err: RunFailure
        if isinstance(exc, RunFailure):
            err = exc
        else:
            err = ScopeFailure(self.scope, global_step=counters.global_step, source=self.source, steps=counters.step)
            err.__cause__ = exc
        for c in self.afters:
            if not c.always and c.fires(counters):
                err.skipped.append((f"{c.hook}.{c.callback}", c.span))
                if err.span is None:
                    err.span = c.span
        return err

    def fail(self, arg: PipelineHookArgs | None, exc: BaseException) -> NoReturn:
        """This scope failed with ``exc``: run its cleanup calls and raise what propagates.

        ``arg`` is None only for a scope without callbacks (nothing to clean up).
        """
        wrapped = self.failure(exc)
        _run_cleanup(self.afters, arg, self.counters, wrapped)
        if wrapped is not exc:
            raise wrapped from exc
        raise exc


class PlanScope(tuple[Any, ...]):
    """``(channel, arg, skip_before)``: one entry into a :class:`PlanChannel`.

    A tuple, so making one runs no Python code: a batch processor with its own
    ``__call__`` opens two of these every step, and on a small model's step each
    Python function call shows. An empty phase is not called at all.
    """

    __slots__ = ()

    def __enter__(self) -> PipelineHookArgs:
        ch: PlanChannel = self[0]
        arg: PipelineHookArgs = self[1]
        if ch.befores and not self[2]:
            try:
                ch.run_befores(arg)
            except BaseException as exc:
                ch.fail(arg, exc)
        return arg

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        ch: PlanChannel = self[0]
        if exc is None:
            if ch.afters:
                ch.run_afters(self[1])
            return False
        ch.fail(self[1], exc)


def wrapped_callables(ctx: HookContext[Any]) -> tuple[SeedCallback | None, SeedCallback | None]:
    """``(before, after)``: the functions a context runs, its own where robo_orchard_core says which.

    A context made by ``HookContext.from_callable`` wraps two functions; its
    public ``before_info``/``after_info`` name them (None: none given), so the
    channel calls them directly, one call per hook instead of two. Where they
    cannot be named (a callable object, a function without source: the info
    raises) and for every other context, its bound ``before``/``after``.
    """
    if type(ctx) is HookContextFromCallable:
        try:
            before, after = ctx.before_info, ctx.after_info
        except (ValueError, TypeError, OSError):
            pass
        else:
            return (None if before is None else before.func), (None if after is None else after.func)
    return ctx.before, ctx.after


class Registrations:
    """One count of registration changes for every seed channel.

    The compiled step (:mod:`hookpipe.runtime.loop.step_program`) captures the
    registered callbacks once and compares this integer once per step (and each seed
    scope at entry and exit) to see that a hook was added or removed. Kept by
    overriding robo_orchard_core's public registration methods (``register``,
    ``register_hook_channel``, ``unregister_all``, the handles they return); ``+=``
    goes through the first two. An instance's slot, not a class attribute: read
    several times a step, an attribute of a class is a lookup through the type
    caches, a slot one indexed load.
    """

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


#: The count (see :class:`Registrations`).
REGISTRATIONS = Registrations()


def _counted(handle: RemoveableHandle[Callable[[], None]]) -> RemoveableHandle[Callable[[], None]]:
    """A registration was made: count it, and count its removal through the handle too."""
    REGISTRATIONS.count += 1

    def remove() -> None:
        handle()
        REGISTRATIONS.count += 1

    return RemoveableHandle(remove)


class Channel(HookContextChannel[PipelineHookArgs]):
    """The seed's channel: contexts run in registration order, ``after`` skipped on failure.

    Entering it runs plain tuples of callables, rebuilt only when the registered
    contexts change: a context made with ``HookContext.from_callable`` contributes
    its functions directly, so a registered hook costs one call per step, not two.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._seen = -1
        self._calls: tuple[tuple[SeedCallback, ...], tuple[SeedCallback, ...]] = ((), ())
        #: The count at which this channel was last seen to run nothing (-1: it runs something).
        self._quiet = -1

    def begin(self, arg: PipelineHookArgs) -> "SeedScope":
        return SeedScope((self, arg))

    def register(self, hook: HookContext[PipelineHookArgs]) -> RemoveableHandle[Callable[[], None]]:
        return _counted(super().register(hook))

    def register_hook_channel(self, channel: HookContextChannel[PipelineHookArgs]
                              ) -> RemoveableHandle[Callable[[], None]]:
        return _counted(super().register_hook_channel(channel))

    def unregister_all(self) -> None:
        super().unregister_all()
        REGISTRATIONS.count += 1

    @property
    def contexts(self) -> tuple[Any, ...]:
        """The registered contexts, in registration order (through the channel's public sequence protocol)."""
        return tuple(self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        """robo_orchard_core's text for its ``HookContextChannel``, whose name it prints.

        ``print(trainer.hooks)`` then shows the seed's tree; the class is an
        implementation detail of the same channel.
        """
        items = "".join(("," if i else "") + "\n" + add_indentation(f"{i}: {ctx}", indent=2)
                        for i, ctx in enumerate(self.contexts))
        hooks = f"[{items}\n]" if items else "[]"
        content = f"name={self.name}, \nhooks={hooks}"
        base = HookContextChannel
        return f"<{base.__module__}.{base.__name__}(\n" + add_indentation(content, 2, first_line_indent=True) + ")>"

    def calls(self) -> tuple[tuple[SeedCallback, ...], tuple[SeedCallback, ...]]:
        """``(befores, afters)``: the functions the registered contexts run, in order."""
        if self._seen != REGISTRATIONS.count:
            pairs = [wrapped_callables(ctx) for ctx in self.contexts]
            befores, afters = tuple(b for b, _ in pairs if b is not None), tuple(a for _, a in pairs if a is not None)
            self._seen, self._calls = REGISTRATIONS.count, (befores, afters)
            self._quiet = -1 if befores or afters else REGISTRATIONS.count
        return self._calls

    def fail(self, arg: PipelineHookArgs, exc: BaseException) -> NoReturn:
        """This scope failed with ``exc``: run the ``always`` contexts' ``after``, then raise it."""
        for ctx in self.contexts:
            if is_always(ctx):
                try:
                    ctx.after(arg)
                except Exception as error:
                    add_note(exc, f"cleanup hook {ctx!r} also failed: {type(error).__name__}: {error}")
        raise exc


class SeedScope(tuple[Any, ...]):
    """``(channel, arg)``: one entry into a seed :class:`Channel` (a tuple, as :class:`PlanScope` is).

    The registered callbacks are read at entry and again at exit (a ``before``
    that registers a hook changes the ``after`` list), each time with one integer
    comparison unless they changed (:meth:`Channel.calls` rebuilds them then). A
    channel that runs nothing (``Channel._quiet`` is the current count) is left
    alone: a seed processor opens two such scopes every step, and on a small
    model's step each object a scope reads is cold again.
    """

    __slots__ = ()

    def __enter__(self) -> PipelineHookArgs:
        ch: Channel = self[0]
        arg: PipelineHookArgs = self[1]
        if ch._quiet == REGISTRATIONS.count:
            return arg
        befores = (ch._calls if ch._seen == REGISTRATIONS.count else ch.calls())[0]
        if befores:
            try:
                for fn in befores:
                    fn(arg)
            except BaseException as exc:
                ch.fail(arg, exc)
        return arg

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        ch: Channel = self[0]
        if ch._quiet == REGISTRATIONS.count:
            return False  # no callbacks and no cleanup: a failure propagates as it is
        if exc is None:
            arg = self[1]
            for fn in (ch._calls if ch._seen == REGISTRATIONS.count else ch.calls())[1]:
                fn(arg)
            return False
        ch.fail(self[1], exc)
