"""``hookpipe check --resolve``: import what a pipeline names, without training.

``check`` never imports user code; with ``--resolve`` it does what ``run`` would do
first: import every factory, callback and hook class the file names, make sure
the factories ``run`` needs are there, and compile with what custom classes
declare themselves (``effects``, per callback, and ``collective``), so a class
whose own effects put it in the wrong place is an HP005 before any job runs. Failures become diagnostics at the
setting or argument that names the object, so a typo in a module path is found
before a job is queued, not when it starts. A custom class without the method an
attachment calls (``on_step_end`` in ``step.after``; Lightning's
``on_train_batch_end`` is not it) is HP006 at the attachment, as ``run`` would
refuse it (:mod:`hookpipe.runtime.plan.callback_check`).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator

from hookpipe.compiler.class_effects import ClassInfo, ClassLookup, class_info
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.plan import PlanEntry
from hookpipe.compiler.settings import REQUIRED_FACTORIES, tracker_problem
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl.span import Span
from hookpipe.fileaccess import display_name
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.plan.callback_check import class_may_lack, missing_method, rename_hint
from hookpipe.runtime.plan.import_roots import import_help, use_import_roots
from hookpipe.runtime.plan.resolve import MissingAttribute, import_path


def class_lookup_for(pipe_file: str) -> ClassLookup:
    """What hook classes named by ``pipe_file`` declare (effects per callback, ``collective``).

    The classes are imported by the module search rule of ``pipe_file`` (its project
    folder, then the working directory), as ``hookpipe run`` imports them. The lookup
    returns None for a class that does not import (``resolve_diagnostics`` reports
    that as HP002); a malformed ``effects`` attribute raises ``ValueError`` (HP003 at
    the hook).
    """
    use_import_roots(pipe_file)

    def lookup(path: str) -> ClassInfo | None:
        try:
            cls = import_path(path)
        except PlanResolveError:
            return None
        return class_info(cls)

    return lookup


def resolve_diagnostics(ctx: Compilation) -> list[Diagnostic]:
    """HP002 for every name that does not import, HP003 for a missing required factory, a
    keyword argument a called factory does not take, a ``lr_scheduler`` that steps on
    a metric (:func:`metric_stepped`), or a ``log_with`` tracker whose package is missing,
    HP006 for an attachment whose custom class lacks the method it calls."""
    use_import_roots(ctx.main)  # as `hookpipe run` and the Python API do
    help_line = import_help(ctx.main)
    named = list(_named(ctx))
    found, broken = _broken_uses(ctx, [value for value, *_ in named], help_line)
    for value, span, what, strings_are_paths in named:
        found += _check(value, span, what, help_line, strings_are_paths, broken)
    scheduler = ctx.trainer.get("lr_scheduler")
    if isinstance(scheduler, dict) and isinstance(scheduler.get("$call"), str):
        needs = metric_stepped(scheduler["$call"])
        if needs is not None:
            found.append(Diagnostic("HP003", "error", needs, ctx.settings["lr_scheduler"].span,
                                    help=METRIC_SCHEDULER_HELP))
    trackers = ctx.trainer.get("log_with")
    for name in dict.fromkeys(trackers) if isinstance(trackers, list) else ():
        problem = tracker_problem(name) if isinstance(name, str) else None
        if problem is not None:  # run refuses it before training; say so here, at the setting
            found.append(Diagnostic("HP003", "error", f"trainer setting `log_with`: {problem}",
                                    ctx.settings["log_with"].span))
    found += _missing_callbacks(ctx)
    anchor = ctx.trainer_span or Span(ctx.main, 1, 1, 1, 2)
    for key in REQUIRED_FACTORIES:
        if ctx.trainer.get(key) is None:
            found.append(Diagnostic("HP003", "error", f"`hookpipe run` needs the trainer setting `{key}`", anchor,
                                    help=f"add `{key} = module.factory(...)` to the trainer block"))
    return found


def _missing_callbacks(ctx: Compilation) -> list[Diagnostic]:
    """HP006 at each attachment of a custom hook whose class lacks the method the attachment calls.

    ``run`` builds the hook and refuses the same (``plan_hooks``, with the same
    words); here the class is read, not built, so classes only known once built
    (:func:`~hookpipe.runtime.plan.callback_check.class_may_lack`) are left to ``run``.
    """
    plan = ctx.plan
    if plan is None:
        return []
    classes: dict[str, Any] = {}
    for spec in plan.hooks:
        if spec.builtin:
            continue
        try:
            cls = import_path(spec.type)
        except PlanResolveError:
            continue  # HP002 at the hook type
        if class_may_lack(cls):
            classes[spec.name] = cls
    phases = [*plan.phases, *(phase for runs in plan.validation.values() for phase in runs)]
    found = []
    for entry in _entries(entry for phase in phases for entry in phase.entries):
        cls = classes.get(entry.hook)
        problem = missing_method(cls, entry.callback) if cls is not None else None
        if problem is None:
            continue
        hint = rename_hint(cls, entry.callback)
        message = f"hook `{entry.hook}`: {problem}, which this attachment calls; `hookpipe run` would refuse it"
        fallback = f"define `{entry.callback}(self, args)` in the class, or attach the hook where it has a method"
        found.append(Diagnostic("HP006", "error", message, entry.span, help=hint or fallback))
    return found


def _entries(entries: Iterable[PlanEntry]) -> Iterator[PlanEntry]:
    """Every entry that calls a method: for a bracket (``enter``/``exit``, checked by ``run``), those inside it."""
    for entry in entries:
        if entry.inner is None:
            yield entry
        else:
            yield from _entries(entry.inner)


def _named(ctx: Compilation) -> Iterator[tuple[Any, Span, str, bool]]:
    """Every value ``run`` imports from, where the file names it: ``(value, span, what, strings_are_paths)``.

    The trainer's settings, custom hooks' types and every hook argument (a built-in's
    ``callback`` string is an import path).
    """
    for key, setting in ctx.settings.items():
        yield ctx.trainer.get(key), setting.span, f"trainer setting `{key}`", False
    for name, info in ctx.hooks.items():
        if info.builtin is None:
            yield {"$ref": info.type_name}, info.decl.type.span, f"hook type of `{name}`", False
        spans = {a.name: a.span for a in info.decl.args}
        for arg, value in info.args.items():
            yield (value, spans.get(arg, info.decl.span), f"argument `{arg}` of `{name}`",
                   info.builtin is not None and arg == "callback")


def _broken_uses(ctx: Compilation, values: list[Any], help_line: str) -> tuple[list[Diagnostic], frozenset[str]]:
    """One HP002 at each ``use`` whose module does not import, and those modules.

    A misspelt module would otherwise be reported once for every value naming it
    (``starter.build_model``, ``starter.train_loader``, ...), each far from the line
    to fix. Only aliases that some value uses are imported, as ``run`` would.
    """
    named = {path.partition(":")[0] for value in values for path in _paths(value, False) if ":" in path}
    found: list[Diagnostic] = []
    broken: set[str] = set()
    for alias, use in ctx.uses.items():
        if use.module not in named or use.module in broken:
            continue
        try:
            import_path(use.module)
        except PlanResolveError as exc:
            broken.add(use.module)
            found.append(Diagnostic("HP002", "error", f"`use {alias}`: {exc}", use.span, help=help_line))
    return found, frozenset(broken)


#: How a scheduler that steps on a metric is driven instead (docs/builtins.md, ``lr_plateau``).
METRIC_SCHEDULER_HELP = ('remove `lr_scheduler` and add `hook plateau = lr_plateau(monitor = "evaluate.loss", '
                         'mode = "min", factor = 0.1, patience = 10)` after the validation it reads: it steps '
                         'ReduceLROnPlateau with each new result (see docs/builtins.md)')


def metric_stepped(path: str) -> str | None:
    """Why the scheduler at ``path`` cannot be the trainer's ``lr_scheduler`` (None: it can).

    The ``optimizer`` hook calls ``lr_scheduler.step()`` once per update with no
    argument; a scheduler whose ``step`` needs one (``ReduceLROnPlateau``'s metric)
    would fail at the first update.
    """
    import inspect

    try:
        cls = import_path(path)
    except PlanResolveError:
        return None  # reported as HP002
    step = getattr(cls, "step", None) if isinstance(cls, type) else None
    if step is None:
        return None
    try:
        params = list(inspect.signature(step).parameters.values())[1:]  # after self
    except (TypeError, ValueError):
        return None
    required = [p.name for p in params if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not required:
        return None
    return (f"trainer setting `lr_scheduler`: {path}.step() needs `{required[0]}` (a monitored metric), but the "
            f"optimizer hook steps the scheduler once per update with no argument, so the run would fail at its "
            f"first update")


def _check(value: Any, span: Span, what: str, help_line: str, strings_are_paths: bool = False,
           broken: frozenset[str] = frozenset()) -> list[Diagnostic]:
    out = []
    for path in _paths(value, strings_are_paths):
        if path.partition(":")[0] in broken and ":" in path:
            continue  # reported once, at its `use` line
        try:
            import_path(path)
        except MissingAttribute as exc:  # the module was found: the name is what to fix, not where to look
            shown = os.path.relpath(exc.file) if exc.file and not os.path.relpath(exc.file).startswith("..") \
                else exc.file
            where = f" ({display_name(shown)})" if shown else ""
            out.append(Diagnostic("HP002", "error", f"{what}: {exc}", span,
                                  help=f"`{exc.owner_name}`{where} imported; define `{exc.attr}` in it, or fix the "
                                       "name in the .pipe file"))
        except PlanResolveError as exc:
            out.append(Diagnostic("HP002", "error", f"{what}: {exc}", span,
                                  help=help_line))
    if not out:
        for message, accepted in _unknown_keywords(value):
            out.append(Diagnostic("HP003", "error", f"{what}: {message}", span,
                                  help=f"it takes: {', '.join(accepted)}" if accepted else None))
    return out


def _unknown_keywords(value: Any) -> Iterator[tuple[str, list[str]]]:
    """A keyword argument that a called factory does not take, for every ``$call`` in ``value``.

    ``run`` calls the factory with these keywords and would stop there at once
    ("unexpected keyword argument"); read from the callable's signature, nothing is
    called. A callable that takes ``**kwargs``, or whose signature Python cannot
    give, is taken at its word.
    """
    if isinstance(value, list):
        for item in value:
            yield from _unknown_keywords(item)
        return
    if not isinstance(value, dict):
        return
    path, args = value.get("$call"), value.get("args")
    if isinstance(path, str) and isinstance(args, dict):
        accepted = _keywords_of(path)
        for name in args:
            if accepted is not None and name not in accepted:
                hint = did_you_mean(name, accepted)
                yield f"`{path}` takes no argument `{name}`" + (f"; {hint}" if hint else ""), accepted
    for key, item in value.items():
        if key not in ("$ref", "$call"):
            yield from _unknown_keywords(item)


def _keywords_of(path: str) -> list[str] | None:
    """The keyword names the callable at ``path`` accepts; None when it takes any (or cannot be told)."""
    import inspect

    try:
        parameters = inspect.signature(import_path(path)).parameters.values()
    except (PlanResolveError, TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _paths(value: Any, strings_are_paths: bool) -> Iterator[str]:
    if isinstance(value, dict):
        for key in ("$ref", "$call"):
            if isinstance(value.get(key), str):
                yield value[key]
        for key, item in value.items():
            if key not in ("$ref", "$call"):
                yield from _paths(item, False)
    elif isinstance(value, list):
        for item in value:
            yield from _paths(item, False)
    elif strings_are_paths and isinstance(value, str):
        yield value
