"""Load a Plan's hooks: build each instance and compile each phase's call list.

Hook types, by what ``HookSpec.type`` names:

* a built-in (``builtin=True``): the catalog's ``implementation`` class, its
  arguments validated by the catalog schema; ``Impl.from_plan_args(validated)`` when
  the class defines it, else ``Impl(**validated)``;
* a ``PipelineHooksConfig`` subclass: ``Config(**args)()``;
* a ``PipelineHooks`` subclass: ``Cls(ConfigOfItsCfgParameter(**args))`` when its
  ``__init__`` takes one ``cfg``, else ``Cls(**args)``;
* anything else (a hookpipe hook class, see ``docs/runtime.md``): ``Cls(**args)``.

A plan entry ``(hook, callback)`` calls the instance's method named ``callback``
(``on_step_end``...) when it has one; otherwise, for RoboOrchard-style containers,
the contexts the instance registered on that scope's channel (``before`` for a
``before`` phase, ``after`` for an ``after`` phase), in registration order.
Everything is decided here, once; ``main_only`` entries are dropped on other ranks.
"""

from __future__ import annotations

import inspect
import logging
import typing
from dataclasses import dataclass, replace
from typing import Any, Callable

import pydantic
from robo_orchard_core.utils.hook import HookContextChannel, HookContextFromCallable

from hookpipe.compiler.catalog import BUILTINS, seed_hook_type
from hookpipe.compiler.loop import (
    SCOPE_CHANNEL,
    VALIDATION_CHANNEL,
    VALIDATION_UNITS,
    split_validation_scope,
    validation_scope,
)
from hookpipe.compiler.plan import BRACKET_EXIT, UNITS, HookSpec, Plan, PlanEntry
from hookpipe.compiler.settings import ObjectRef
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.dispatch.channels import Call, Counters, PlanChannel, is_always
from hookpipe.runtime.errors import FactoryFailure, PlanResolveError, describe_validation_error
from hookpipe.runtime.hooks.mixin import PipelineHooks, PipelineHooksConfig, channel_contexts
from hookpipe.runtime.plan.brackets import BracketCall, bracket_callbacks
from hookpipe.runtime.plan.callback_check import missing_method, rename_hint
from hookpipe.runtime.plan.resolve import import_path, keyword_hint, resolve_value
from hookpipe.runtime.plan.validation_scopes import ValidationScopes
from hookpipe.runtime.tracking.trace import Tracer

__all__ = [
    "PlanHooks", "Wrapper", "build_hook", "build_plan_hooks", "check_main_only_collectives", "config_class",
    "needs_every_process",
]

_log = logging.getLogger(__name__)


class PlanHooks(PipelineHooks):
    """A :class:`PipelineHooks` whose channels run a compiled Plan.

    Batch processors written for the seed open ``on_model_forward`` /
    ``on_model_backward`` through :meth:`begin` as usual and get the Plan's phases.
    """

    def __init__(self, plan: Plan, channels: dict[str, PlanChannel], instances: dict[str, Any], counters: Counters,
                 tracer: Tracer | None = None) -> None:
        self.hooks = dict(channels)
        #: The Plan these channels run.
        self.plan = plan
        #: Hook instances by ``.pipe`` name, in declaration order.
        self.instances = instances
        self.counters = counters
        #: Records each firing when ``HOOKPIPE_TRACE`` asks for it (tests, ``--check-effects`` runs).
        self.tracer = tracer


def _where(spec: HookSpec) -> str:
    return f"hook '{spec.name}' ({spec.span.file}:{spec.span.line})"


def config_class(cls: type) -> type | None:
    """The config class a seed-style ``__init__(self, cfg)`` expects, if any."""
    try:
        init = cls.__init__  # type: ignore[misc]  # the class's own __init__, read off the class
        params = list(inspect.signature(init).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    if len(params) != 1 or params[0].name != "cfg":
        return None
    try:
        hint = typing.get_type_hints(init).get("cfg")
    except Exception:
        return None
    for candidate in typing.get_args(hint) or (hint,):
        if isinstance(candidate, type) and issubclass(candidate, pydantic.BaseModel):
            return candidate
    return None


def _registers_its_own(instance: Any) -> bool:
    """Whether ``instance`` is one of hookpipe's copies of the seed's hooks built from its config.

    Such a hook runs only what it registered on its channels, as in the seed: some of
    these classes also have methods named like callbacks for a built-in
    (``ValidationHook.on_step_end`` serves ``validation(...)`` and ignores the config's
    frequencies). A user's own class keeps the rule every hook follows (its methods).
    """
    return (type(instance).__module__.startswith(_SEED_MODULES)
            and isinstance(getattr(instance, "cfg", None), PipelineHooksConfig))


#: Where hookpipe's copies of RoboOrchard Lab's hook classes live.
_SEED_MODULES = "hookpipe.runtime.hooks."


def _is_container(obj: Any) -> bool:
    hooks = getattr(obj, "hooks", None)
    return isinstance(obj, PipelineHooks) or (
        isinstance(hooks, dict) and all(isinstance(ch, HookContextChannel) for ch in hooks.values())
    )


def _build_builtin(spec: HookSpec) -> Any:
    hook_type = BUILTINS.get(spec.type)
    if hook_type is None:
        raise PlanResolveError(f"{_where(spec)}: unknown built-in hook type {spec.type!r}")
    try:
        validated = hook_type.schema.model_validate(spec.args)
    except pydantic.ValidationError as exc:
        problem = describe_validation_error(exc)
        raise PlanResolveError(f"{_where(spec)}: invalid arguments for {spec.type}: {problem}") from None
    # Fields typed as object references become the objects they name.
    objects = {
        name: resolve_value(getattr(validated, name), strings_are_paths=True)
        for name, field in hook_type.schema.model_fields.items()
        if field.annotation in (ObjectRef, ObjectRef | None) and getattr(validated, name) is not None
    }
    impl = import_path(hook_type.implementation)
    if hasattr(impl, "from_plan_args"):
        return impl.from_plan_args(validated.model_copy(update=objects))
    return impl(**{**validated.model_dump(), **objects})


def build_hook(spec: HookSpec) -> Any:
    """One hook instance from its spec (see the module docstring for the rules)."""
    try:
        if spec.builtin:
            return _build_builtin(spec)
        target = import_path(spec.type)
        args = resolve_value(spec.args)
        if isinstance(target, type) and issubclass(target, PipelineHooksConfig):
            return target(**args)()
        if isinstance(target, type) and issubclass(target, PipelineHooks):
            cfg_cls = config_class(target)
            container: Any = target  # a subclass: its __init__ takes what its author chose
            return container(cfg_cls(**args)) if cfg_cls is not None else container(**args)
        if not callable(target):
            raise PlanResolveError(f"{_where(spec)}: {spec.type!r} is not a class")
        return target(**args)
    except PlanResolveError as exc:
        if _where(spec) in str(exc):
            raise
        if isinstance(exc, FactoryFailure):  # its traceback is printed before the line: keep the cause
            raise FactoryFailure(f"{_where(spec)}: {exc}") from exc.__cause__
        raise PlanResolveError(f"{_where(spec)}: {exc}") from None
    except (TypeError, ValueError) as exc:  # bad arguments: a user mistake
        problem = describe_validation_error(exc)
        hint = "" if spec.builtin else keyword_hint(import_path(spec.type), exc)
        raise PlanResolveError(f"{_where(spec)}: building {spec.type} failed: {problem}{hint}") from None


def _callables(
    instance: Any, spec: HookSpec, scope: str, phase: str, entry: PlanEntry
) -> list[tuple[Callable[..., Any], bool]]:
    """The functions one entry runs, each with its ``always`` (cleanup) flag."""
    method = getattr(instance, entry.callback, None)
    if callable(method) and not _registers_its_own(instance):
        return [(method, is_always(method))]
    if _is_container(instance) and split_validation_scope(scope) is None:
        contexts = channel_contexts(instance, SCOPE_CHANNEL[scope])
        if phase == "before":
            return [(ctx.before, False) for ctx in contexts]
        return [(ctx.after, is_always(ctx)) for ctx in contexts]
    hint = rename_hint(instance, entry.callback)
    raise PlanResolveError(
        f"{_where(spec)}: {missing_method(instance, entry.callback)} "
        f"(attached at {entry.span.file}:{entry.span.line})" + (f"; {hint}" if hint else "")
    )


def _call(fn: Callable[[PipelineHookArgs], Any], always: bool, entry: PlanEntry, instance: Any) -> Call:
    guard = entry.guard
    if guard.unit is not None and guard.unit not in UNITS + VALIDATION_UNITS:  # a hand-edited plan.json
        raise PlanResolveError(f"unknown frequency unit {guard.unit!r} at {entry.span.file}:{entry.span.line}")
    return Call(
        fn,
        guard=guard,
        always=always,
        hook=entry.hook,
        callback=entry.callback,
        span=entry.span,
        # Only a hook that records its place in the phase (a checkpoint) pays for knowing it.
        marks_position=bool(getattr(instance, "records_position", False)),
    )


#: Wraps one compiled callback: ``(fn, counters, scope, phase, spec, entry) -> fn``.
Wrapper = Callable[[Callable[..., Any], Counters, str, str, HookSpec, PlanEntry], Callable[..., Any]]


def needs_every_process(spec: HookSpec, instance: Any) -> bool:
    """Whether a hook runs a collective (a built-in marked so, or ``collective = True`` on its class)."""
    hook_type = BUILTINS.get(spec.type) if spec.builtin else seed_hook_type(spec.type)
    if hook_type is not None:
        return hook_type.collective
    return spec.collective or bool(getattr(instance, "collective", False))


def check_main_only_collectives(plan: Plan, built: dict[str, Any], num_processes: int) -> None:
    """HP109 at run time: an ``on main`` hook that needs every process would hang the others."""
    if num_processes <= 1:
        return
    specs = {h.name: h for h in plan.hooks}
    for _phase, entry in plan.entries():  # validation runs' phases included
        spec = specs[entry.hook]
        if entry.main_only and needs_every_process(spec, built.get(entry.hook)):
            raise PlanResolveError(
                f"HP109: hook '{entry.hook}' ({spec.type}) is attached `on main` at "
                f"{entry.span.file}:{entry.span.line}, "
                f"but it needs every process (a collective); with {num_processes} processes the others would hang. "
                "Remove `on main` (the hook already writes from the main process only)"
            )


@dataclass
class _Building:
    """What turning one phase's entries into calls needs (see :func:`_entry_calls`)."""

    scope: str
    phase: str
    specs: dict[str, HookSpec]
    built: dict[str, Any]
    counters: Counters
    wrappers: tuple[Wrapper, ...]
    is_main: bool
    attached: set[tuple[str, str, str]]  # (hook, channel, phase)
    by_method: set[str]


def _channel(scope: str) -> str:
    split = split_validation_scope(scope)
    return SCOPE_CHANNEL[scope] if split is None else VALIDATION_CHANNEL[split[1]]


def _entry_calls(entry: PlanEntry, b: _Building) -> list[Call]:
    """The calls of one entry: its callables, or for a bracket one call around those inside it."""
    found = b.specs.get(entry.hook)
    if found is None:
        raise PlanResolveError(f"plan entry names unknown hook {entry.hook!r}")
    spec = found
    b.attached.add((entry.hook, _channel(b.scope), b.phase))
    instance = b.built[entry.hook]
    if entry.inner is not None:  # a bracket: one call around the calls inside it
        b.by_method.add(entry.hook)
        enter, exit_ = bracket_callbacks(instance, spec, entry)
        for wrap in b.wrappers:
            enter = wrap(enter, b.counters, b.scope, b.phase, spec, entry)
            exit_ = wrap(exit_, b.counters, b.scope, b.phase, spec, replace(entry, callback=BRACKET_EXIT, inner=None))
        inner = tuple(c for e in entry.inner for c in _entry_calls(e, b))
        return [BracketCall(entry, enter, exit_, inner, b.counters)] if inner else []
    if callable(getattr(instance, entry.callback, None)) and not _registers_its_own(instance):
        b.by_method.add(entry.hook)
    if entry.main_only and not b.is_main:
        return []
    made = []
    for fn, always in _callables(instance, spec, b.scope, b.phase, entry):
        for wrap in b.wrappers:
            fn = wrap(fn, b.counters, b.scope, b.phase, spec, entry)
        made.append(_call(fn, always, entry, instance))
    return made


def build_plan_hooks(
    plan: Plan,
    *,
    is_main: bool,
    instances: dict[str, Any] | None = None,
    num_processes: int = 1,
    wrappers: tuple[Wrapper, ...] = (),
    tracer: Tracer | None = None,
) -> PlanHooks:
    """Instantiate ``plan``'s hooks (unless given) and compile its twelve phases.

    Args:
        plan: The Plan to execute.
        is_main: Whether this process is the main one (``on main`` entries run only there).
        instances: Pre-built hook instances by name (tests, or a caller's overrides).
        num_processes: Processes in the run; with more than one, an ``on main``
            collective is refused before training (HP109).
        wrappers: Applied to every compiled callback, first innermost
            (``--check-effects``); none by default, so the hot path stays bare.
        tracer: Records every firing (outermost, after ``wrappers``).
    """
    specs = {h.name: h for h in plan.hooks}
    built = dict(instances or {})
    for name, spec in specs.items():
        if name not in built:
            built[name] = build_hook(spec)
    check_main_only_collectives(plan, built, num_processes)
    counters = Counters()
    if tracer is not None:
        wrappers = (*wrappers, tracer.wrap_entry)
    calls: dict[tuple[str, str], list[Call]] = {}
    attached: set[tuple[str, str, str]] = set()
    by_method: set[str] = set()
    for phase_plan in plan.phases:
        key = (phase_plan.scope, phase_plan.phase)
        out = calls.setdefault(key, [])
        for entry in phase_plan.entries:
            out.extend(_entry_calls(entry, _Building(phase_plan.scope, phase_plan.phase, specs, built, counters,
                                                     wrappers, is_main, attached, by_method)))
    for hook, phases in plan.validation.items():
        runs: dict[tuple[str, str], tuple[Call, ...]] = {}
        for phase_plan in phases:
            scope = validation_scope(hook, phase_plan.scope)
            runs[(phase_plan.scope, phase_plan.phase)] = tuple(
                c for entry in phase_plan.entries
                for c in _entry_calls(entry, _Building(scope, phase_plan.phase, specs, built, counters, wrappers,
                                                       is_main, attached, by_method)))
        bind = getattr(built.get(hook), "bind_validation_scopes", None)
        if not callable(bind):
            raise PlanResolveError(f"the plan has a validation block for {hook!r}, which is not a validation hook "
                                   "with a dataloader")
        bind(ValidationScopes(runs, counters))
    _warn_unattached_channels({k: v for k, v in built.items() if k not in by_method}, attached)
    channels = {
        channel: PlanChannel(
            channel,
            scope,
            tuple(calls.get((scope, "before"), ())),
            tuple(calls.get((scope, "after"), ())),
            counters,
            plan.source,
        )
        for scope, channel in SCOPE_CHANNEL.items()
    }
    return PlanHooks(plan, channels, built, counters, tracer)


def _warn_unattached_channels(instances: dict[str, Any], attached: set[tuple[str, str, str]]) -> None:
    """A RoboOrchard container runs only where the .pipe file attaches it: say once what will not run.

    A channel not attached at all, and, for contexts made with
    ``HookContext.from_callable`` (which say which of ``before``/``after`` they
    were given), a ``before`` or ``after`` callback whose phase is not attached: a
    timer started in ``before`` and read in ``after`` breaks silently otherwise.
    Other contexts implement both methods, so nothing says one is empty.
    """
    for name, inst in instances.items():
        if not _is_container(inst):
            continue
        for channel, ch in inst.hooks.items():
            phases = {p for h, c, p in attached if h == name and c == channel}
            if not len(ch):
                continue
            if not phases:
                _log.warning(
                    "hook %r registers callbacks on %s but is not attached in that scope; they will not run",
                    name,
                    channel,
                )
                continue
            for phase in ("before", "after"):
                if phase not in phases and any(_given(ctx, phase) for ctx in channel_contexts(inst, channel)):
                    _log.warning(
                        "hook %r registers `%s` callbacks on %s but is attached in that scope only in `%s`; "
                        "they will not run (attach it in `%s` too)",
                        name, phase, channel, next(iter(phases)), phase,
                    )


def _given(ctx: Any, phase: str) -> bool:
    """Whether a ``from_callable`` context was given a callback for ``phase`` (others: unknown, False)."""
    if type(ctx) is not HookContextFromCallable:
        return False
    try:
        return (ctx.before_info if phase == "before" else ctx.after_info) is not None
    except (ValueError, TypeError, OSError):  # robo_orchard_core cannot describe it: unknown
        return False
