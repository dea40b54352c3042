"""Runtime errors: where a run failed, in the words of the ``.pipe`` file.

A failure deep in a training loop is only useful if it says which hook (or which
scope's body) raised, at which global step, and which attachment in which file put
it there. The exceptions below carry those as attributes, so the command line can
print one paragraph and tests can assert on fields instead of parsing text.
"""

from __future__ import annotations

from hookpipe.dsl.span import Span
from hookpipe.errors import HookpipeError


class HookpipeRuntimeError(HookpipeError):
    """Root of every error the runtime raises on purpose (under hookpipe's one root)."""


class PlanResolveError(HookpipeRuntimeError):
    """A Plan could not be turned into live objects: a user mistake, not a crash.

    Raised for unimportable paths, factories that fail, bad ``--set`` overrides and
    missing checkpoints. The command line prints it without a traceback.
    """


class FactoryFailure(PlanResolveError):
    """A factory the file names (``trainer.model``, a ``$call`` value) raised while the run was built.

    Its cause is the factory's own exception: ``hookpipe run`` prints that traceback
    (the bug may be deep in the user's code) and then this one line naming the setting
    and the call, as it does for a hook that fails.
    """


class ForwardResultError(HookpipeRuntimeError, TypeError):
    """A ``SimpleBatchProcessor.forward`` returned something that is not ``(outputs, loss)``.

    A ``TypeError`` too, as the failed unpacking was. Said in one line naming the
    method and what it returned: the unpacking's own message ("iteration over a 0-d
    tensor", raised from generated code) points nowhere a user can act on.
    """


class SettingError(PlanResolveError):
    """A value the file wrote that the run cannot use as it is: a usage error (``hookpipe run`` exits 2).

    ``setting`` is where it was written, ``trainer.KEY`` or ``hook.NAME.ARG`` (None when
    no one setting is); ``hookpipe run`` puts that setting's ``file:line:col`` before the
    message, or ``span`` (the hook's declaration) when the compilation is not at hand.
    The message itself says what to do.
    """

    exit_code = 2

    def __init__(self, message: str, setting: str | None = None, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.setting = setting
        self.span = span


class UncalledFactory(SettingError):
    """A trainer factory named (``model = m.build_model``) where the run needs what it builds.

    ``model = m.build_model`` hands the function itself to the run, which then fails
    deep in the build (``'function' object has no attribute 'parameters'``). Refused
    when the value is resolved, naming the setting and the call to write instead.
    """

    def __init__(self, key: str, shown: str, kind: str, needed: str) -> None:
        self.key, self.kind, self.needed = key, kind, needed
        super().__init__(self.told(shown), setting=f"trainer.{key}")

    def told(self, shown: str) -> str:
        """The message with the value as ``shown`` (``hookpipe run`` shows it as the file wrote it)."""
        return (f"trainer.{self.key}: `{shown}` is {self.kind}, not {self.needed}; call it: `{shown}()` "
                "(with its arguments, if it takes any)")


class CheckpointNotFoundError(PlanResolveError, ValueError):
    """The folder to resume from does not exist.

    A ``ValueError`` too, as accelerate's (and so RoboOrchard Lab's) is, so code that
    catches the seed's error keeps working.
    """


def describe_validation_error(exc: Exception) -> str:
    """A pydantic ValidationError as one line: ``field: message (got value); ...``."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for err in errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "value"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        parts.append(f"{loc}: {err.get('msg', 'invalid')}{got}")
    return "; ".join(parts)


def add_note(error: BaseException, note: str) -> None:
    """``error.add_note(note)``, also on Python 3.10 (which keeps the note but does not print it)."""
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:  # pragma: no cover - Python 3.10
        error.__notes__ = [*getattr(error, "__notes__", []), note]  # type: ignore[attr-defined]


#: Callback name prefixes of phases outside a step (epoch and loop): "after N steps".
_BETWEEN_STEPS = ("on_epoch_", "on_loop_")


def when(steps: int, in_step: bool) -> str:
    """The run's one numbering: steps counted as validation, logs and the summary count them.

    Inside a step it is that step's number (after it, that many steps are done);
    between steps the number of steps done.
    """
    return f"in step {steps}" if in_step else f"after {steps} step{'' if steps == 1 else 's'}"


class RunFailure(HookpipeRuntimeError):
    """Base of the failures of a running loop.

    ``global_step`` is the 0-based id of the last step begun; ``steps`` is the
    count messages show (:func:`when`): the step's number inside a step, the steps
    done between steps.
    """

    def __init__(self, message: str, *, global_step: int, span: Span | None, source: str | None = None,
                 steps: int | None = None, in_step: bool = True, moment: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: When it failed, in words, where the step count says nothing ("before the first step").
        self.moment = moment
        self.global_step = global_step
        self.steps = global_step + 1 if steps is None else steps
        self.in_step = in_step
        self.span = span
        #: The ``.pipe`` file, for failures that belong to no single attachment.
        self.source = source
        #: Attachments whose ordinary ``after`` callbacks did not run because of this
        #: failure, innermost scope first: ``("hook.callback", span)``.
        self.skipped: list[tuple[str, Span | None]] = []

    @property
    def path(self) -> str | None:
        return self.span.file if self.span is not None else self.source

    @property
    def line(self) -> int | None:
        return self.span.line if self.span is not None else None

    def __str__(self) -> str:
        if self.span is not None:
            where = f" ({self.span.file}:{self.span.line})"
        else:
            where = f" ({self.source})" if self.source else ""
        cause = self.__cause__
        detail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        moment = self.moment if self.moment is not None else when(self.steps, self.in_step)
        text = f"{self.message} {moment}{where}{detail}"
        if self.skipped:
            names = ", ".join(
                f"{name} ({span.file}:{span.line})" if span is not None else name for name, span in self.skipped
            )
            text += f"; not run: {names}"
        return text


class HookFailure(RunFailure):
    """A hook callback raised. ``hook`` is the ``.pipe`` hook name."""

    def __init__(self, hook: str, callback: str, *, global_step: int, span: Span | None,
                 steps: int | None = None) -> None:
        super().__init__(f"hook '{hook}' failed in {callback}", global_step=global_step, span=span, steps=steps,
                         in_step=not callback.startswith(_BETWEEN_STEPS))
        self.hook = hook
        self.callback = callback


class ScopeFailure(RunFailure):
    """The body of a scope raised (for ``forward``: the model; ``batch``: the processor).

    Its span is the first skipped attachment's (the nearest place in the ``.pipe``
    file the failure affected); ``source`` names the file when nothing was skipped.
    """

    def __init__(self, scope: str, *, global_step: int, source: str | None = None, steps: int | None = None) -> None:
        super().__init__(f"scope '{scope}' failed", global_step=global_step, span=None, source=source, steps=steps,
                         in_step=scope not in ("epoch", "loop"))
        self.scope = scope


class RunInterrupted(HookpipeRuntimeError):
    """The run stopped between steps (a signal, or a hook's stop request such as nan_guard's).

    Not a failure of a scope: channels let it pass unwrapped, and ``hookpipe run``
    exits with :attr:`exit_code` (130 SIGINT, 143 SIGTERM, 1 for a hook's request).
    """

    def __init__(self, reason: str, exit_code: int, global_step: int, checkpoint: object | None) -> None:
        where = (
            f"; checkpoint {checkpoint} (resume with --resume latest)" if checkpoint
            else "; no checkpoint hook, nothing saved"
        )
        super().__init__(f"{reason} {when(global_step, False)}{where}")
        self.reason = reason
        self.exit_code = exit_code
        self.global_step = global_step
        self.checkpoint = checkpoint
