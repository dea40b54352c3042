"""Pass: validate built-in hook arguments and trainer settings against their schemas.

pydantic does the checking; this pass maps each failure back to the argument's
source span (HP003), and run-length problems of the trainer to HP008.

A run-time value (``run.updates``) in a built-in's arguments is checked as the
number it will be (a positive integer), so a string field given one is HP003;
the Plan keeps ``{"$run": NAME}``. Trainer settings themselves must be literal:
the run's size is computed from them.

A hook that cannot run with a trainer setting is HP003 too, at the hook, with a
note at the setting: ``swa`` with a trainer ``lr_scheduler`` (the runtime refuses
the pair before it builds anything; see :func:`_swa_and_scheduler`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from hookpipe.compiler.context import Compilation, HookInfo
from hookpipe.compiler.foreign_settings import foreign_help
from hookpipe.compiler.run_values import PLACEHOLDER, RUN_VALUES, contains_run_value, substitute
from hookpipe.compiler.schema_build import built
from hookpipe.compiler.settings import RUN_LENGTH_KEYS, TrainerSettings, has_run_length
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.compiler.values import to_json
from hookpipe.diagnostics import Note
from hookpipe.dsl import ast
from hookpipe.dsl.span import Span

#: Settings whose problems are HP008 (the run's length and its accumulation window).
_RUN_LENGTH = frozenset({*RUN_LENGTH_KEYS, "grad_accumulation"})


def validate_arguments(ctx: Compilation) -> None:
    for name, info in list(ctx.hooks.items()):
        if info.builtin is not None and info.args_ok:
            what = f"`{info.builtin.name}`"
            as_numbers = substitute(info.args, PLACEHOLDER, what)
            validated = _check(ctx, info.builtin.schema, as_numbers, _arg_spans(info), info.decl.span,
                               what, f"argument `{{}}` for {what}")
            if validated is not None:
                validated.update({k: v for k, v in info.args.items() if contains_run_value(v)})
                ctx.hooks[name] = dataclasses.replace(info, args=validated, args_ok=True)
    _trainer(ctx)
    _swa_and_scheduler(ctx)


def _arg_spans(info: HookInfo) -> dict[str, Span]:
    return {a.name: a.span for a in info.decl.args}


def _trainer(ctx: Compilation) -> None:
    before = (len(ctx.diagnostics), ctx.unresolved)
    literal = {key: s for key, s in ctx.settings.items() if _literal_setting(ctx, key, s.value)}
    values = {key: to_json(ctx, s.value) for key, s in literal.items()}
    if (len(ctx.diagnostics), ctx.unresolved) != before:
        values = {k: v for k, v in values.items() if v is not None}
    spans = {key: s.span for key, s in ctx.settings.items()}
    anchor = ctx.trainer_span or _file_start(ctx)
    validated = _check(ctx, TrainerSettings, values, spans, anchor, "the trainer", "trainer setting `{}`",
                       run_length=_RUN_LENGTH, foreign=foreign_help)
    if validated is None:
        return
    if not has_run_length(validated["max_step"], validated["max_epoch"]) and not ctx.incomplete:
        ctx.error("HP008", "the run has no length: set max_step and/or max_epoch", anchor,
                  help="add `max_epoch = 10` (or `max_step = 1000`) to the trainer block")
    ctx.trainer = validated


def _swa_and_scheduler(ctx: Compilation) -> None:
    """HP003 for each ``swa`` hook when the trainer sets an ``lr_scheduler`` (not ``none``).

    From its ``start`` SWALR sets the learning rate at every epoch's end, and the
    ``optimizer`` hook steps the trainer's scheduler on every update, which would
    overwrite it. ``hookpipe run`` refuses the pair before it builds anything
    (``hookpipe.runtime.builtins.swa``), so the file must not pass ``check``.
    """
    setting = ctx.settings.get("lr_scheduler")
    if setting is None or isinstance(setting.value, ast.NoneValue):
        return
    for name, info in ctx.hooks.items():
        if info.builtin is None or info.builtin.name != "swa":
            continue
        start = info.args.get("start") if info.args_ok else None
        at = f" (epoch {start})" if isinstance(start, int) and not isinstance(start, bool) else ""
        ctx.error("HP003", f"`{name}` (swa) cannot run with a trainer `lr_scheduler`: from its start{at} SWALR "
                  "sets the learning rate, and the `optimizer` hook steps the trainer's lr_scheduler on every "
                  "update, which would overwrite it", info.decl.type.span,
                  notes=(Note("the trainer's `lr_scheduler` is set here", setting.span),),
                  help="remove `lr_scheduler` from the trainer block (the optimizer's lr holds until `start`, "
                       "then SWALR anneals it to swa's `lr`), or remove the swa hook to keep the schedule")


#: Factories built before the dataloader is prepared: only the process count is known then.
_BEFORE_SIZE = ("model", "dataloader")
_KNOWN_EARLY = frozenset({"num_processes"})


def _run_values_in(value: ast.Value) -> list[ast.RunValue]:
    if isinstance(value, ast.RunValue):
        return [value]
    if isinstance(value, ast.ListValue):
        return [r for v in value.items for r in _run_values_in(v)]
    if isinstance(value, (ast.Table, ast.Call)):
        items = value.items if isinstance(value, ast.Table) else value.args
        return [r for a in items for r in _run_values_in(a.value)]
    return []


def _literal_setting(ctx: Compilation, key: str, value: ast.Value) -> bool:
    """Report run-time values where they cannot stand; False when the setting itself is one."""
    if key in _BEFORE_SIZE:
        for run in _run_values_in(value):
            if run.name not in _KNOWN_EARLY and run.name in RUN_VALUES:
                ctx.error("HP003", f"`{run.dotted}` is not known yet when trainer.{key} is built: the run's "
                          "size comes from the prepared dataloader", run.span,
                          help="only `run.num_processes` is available to trainer.model and trainer.dataloader")
    return _setting_itself(ctx, key, value)


def _setting_itself(ctx: Compilation, key: str, value: ast.Value) -> bool:
    """HP003 for a run-time value standing as a setting (not inside a factory's arguments)."""
    if isinstance(value, ast.RunValue):
        ctx.error("HP003", f"trainer setting `{key}` cannot be `{value.dotted}`: the run's size is computed "
                  "from the trainer settings", value.span,
                  help="run-time values stand in factory and hook arguments, e.g. `total_steps = run.updates`")
        return False
    if isinstance(value, ast.ListValue):
        return all([_setting_itself(ctx, key, item) for item in value.items])
    if isinstance(value, ast.Table):
        return all([_setting_itself(ctx, key, arg.value) for arg in value.items])
    return True


def _file_start(ctx: Compilation) -> Span:
    return Span(ctx.main, 1, 1, 1, 1)


def _check(ctx: Compilation, schema: type[BaseModel], values: dict[str, Any], spans: dict[str, Span],
           anchor: Span, what: str, unknown: str, run_length: frozenset[str] = frozenset(),
           foreign: Callable[[str], str | None] = lambda name: None) -> dict[str, Any] | None:
    """Validate ``values``; report each failing field once at its span (HP003, HP008 for ``run_length``).

    ``unknown`` names an unexpected field, with ``{}`` for its name; ``foreign`` gives
    the help for a field another trainer spells that way (it comes first).
    """
    try:
        return built(schema).model_validate(values).model_dump(mode="json")
    except ValidationError as exc:
        reported: set[str | None] = set()
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else None
            if field in reported:  # a union reports one failure per member; one is enough
                continue
            reported.add(field)
            span = spans.get(field, anchor) if field else anchor
            this_code = "HP008" if field in run_length else "HP003"
            if err["type"] == "extra_forbidden":
                ctx.error(this_code, "unknown " + unknown.format(field), span,
                          help=foreign(str(field)) or did_you_mean(str(field), schema.model_fields) or
                          f"accepted: {', '.join(schema.model_fields)}")
            elif err["type"] == "missing":
                ctx.error(this_code, f"{what} needs `{field}`", anchor, help=f"add `{field} = ...`")
            else:
                label = f"`{field}` of {what}" if field else what
                msg = str(err["msg"]).removeprefix("Value error, ")
                msg = msg[:1].lower() + msg[1:]
                ctx.error(this_code, f"invalid {label}: {msg}", span)
        return None


