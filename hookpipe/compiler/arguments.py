"""Pass: validate built-in hook arguments and trainer settings against their schemas.

pydantic does the checking; this pass maps each failure back to the argument's
source span (HP003), and run-length problems of the trainer to HP008.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from hookpipe.compiler.context import Compilation, HookInfo
from hookpipe.compiler.settings import RUN_LENGTH_KEYS, TrainerSettings, has_run_length
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.compiler.values import to_json
from hookpipe.dsl.span import Span

#: Settings whose problems are HP008 (the run's length and its accumulation window).
_RUN_LENGTH = frozenset({*RUN_LENGTH_KEYS, "grad_accumulation"})


def validate_arguments(ctx: Compilation) -> None:
    for name, info in list(ctx.hooks.items()):
        if info.builtin is not None and info.args_ok:
            what = f"`{info.builtin.name}`"
            validated = _check(ctx, info.builtin.schema, info.args, _arg_spans(info), info.decl.span,
                               what, f"argument `{{}}` for {what}")
            if validated is not None:
                ctx.hooks[name] = HookInfo(info.decl, info.type_name, info.builtin, info.effects, validated, True)
    _trainer(ctx)


def _arg_spans(info: HookInfo) -> dict[str, Span]:
    return {a.name: a.span for a in info.decl.args}


def _trainer(ctx: Compilation) -> None:
    before = (len(ctx.diagnostics), ctx.unresolved)
    values = {key: to_json(ctx, s.value) for key, s in ctx.settings.items()}
    if (len(ctx.diagnostics), ctx.unresolved) != before:
        values = {k: v for k, v in values.items() if v is not None}
    spans = {key: s.span for key, s in ctx.settings.items()}
    anchor = ctx.trainer_span or _file_start(ctx)
    validated = _check(ctx, TrainerSettings, values, spans, anchor, "the trainer", "trainer setting `{}`",
                       run_length=_RUN_LENGTH)
    if validated is None:
        return
    if not has_run_length(validated["max_step"], validated["max_epoch"]) and not ctx.incomplete:
        ctx.error("HP008", "the run has no length: set max_step and/or max_epoch", anchor,
                  help="add `max_epoch = 10` (or `max_step = 1000`) to the trainer block")
    ctx.trainer = validated


def _file_start(ctx: Compilation) -> Span:
    return Span(ctx.main, 1, 1, 1, 1)


def _check(ctx: Compilation, schema: type[BaseModel], values: dict[str, Any], spans: dict[str, Span],
           anchor: Span, what: str, unknown: str, run_length: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """Validate ``values``; report each failing field once at its span (HP003, HP008 for ``run_length``).

    ``unknown`` names an unexpected field, with ``{}`` for its name.
    """
    try:
        return schema.model_validate(values).model_dump(mode="json")
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
                          help=did_you_mean(str(field), schema.model_fields) or
                          f"accepted: {', '.join(schema.model_fields)}")
            elif err["type"] == "missing":
                ctx.error(this_code, f"{what} needs `{field}`", anchor, help=f"add `{field} = ...`")
            else:
                label = f"`{field}` of {what}" if field else what
                msg = str(err["msg"]).removeprefix("Value error, ")
                msg = msg[:1].lower() + msg[1:]
                ctx.error(this_code, f"invalid {label}: {msg}", span)
        return None


