"""Pass: arguments that name other hooks.

``early_stop(monitor = "evaluate.accuracy")`` and ``checkpoint(monitor = ...)``
name a hook and one of its metrics; ``validation(weights = "ema")`` needs the
pipeline's ``ema`` hook. A typo there would only show after hours of training, so
the hook must exist (HP002, with a suggestion), write ``metrics`` (HP003), and
there must be exactly one ``ema`` hook to take weights from (HP003). The metric key
itself is known only when the callback returns; the runtime names the keys it got.
"""

from __future__ import annotations

from hookpipe.compiler.context import Compilation, HookInfo
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.dsl.span import Span

_MONITORING = frozenset({"early_stop", "checkpoint", "lr_plateau"})


def check_references(ctx: Compilation) -> None:
    ema_hooks = [name for name, info in ctx.hooks.items() if info.builtin is not None and info.builtin.name == "ema"]
    for name, info in ctx.hooks.items():
        if info.builtin is None or not info.args_ok:
            continue
        if info.builtin.name in _MONITORING and isinstance(info.args.get("monitor"), str):
            _monitor(ctx, name, info, info.args["monitor"])
        if info.builtin.name == "validation" and info.args.get("weights") == "ema" and len(ema_hooks) != 1:
            found = "none" if not ema_hooks else ", ".join(f"`{h}`" for h in ema_hooks)
            ctx.error("HP003", f"`{name}` evaluates with weights = \"ema\", which needs exactly one `ema` hook "
                      f"(found {found})", _arg_span(info, "weights"),
                      help="declare one: `hook avg = ema(decay = 0.999)`, attached in step.after")


def _monitor(ctx: Compilation, name: str, info: HookInfo, monitor: str) -> None:
    hook, _, _key = monitor.partition(".")
    span = _arg_span(info, "monitor")
    target = ctx.hooks.get(hook)
    if target is None:
        ctx.unknown("HP002", f"`{name}` monitors `{monitor}`, but there is no hook `{hook}`", span,
                    help=did_you_mean(hook, ctx.hooks) or "monitor = \"HOOK.METRIC\", e.g. \"evaluate.loss\"")
    elif "metrics" not in target.effects.writes:
        ctx.error("HP003", f"`{name}` monitors `{monitor}`, but `{hook}` ({target.type_name}) produces no metrics",
                  span, help="monitor a validation hook, or declare `writes metrics` on the hook")


def _arg_span(info: HookInfo, arg: str) -> Span:
    for a in info.decl.args:
        if a.name == arg:
            return a.span
    return info.decl.span
