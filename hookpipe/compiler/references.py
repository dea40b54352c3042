"""Pass: arguments that name other hooks.

``early_stop(monitor = "evaluate.accuracy")`` and ``checkpoint(monitor = ...)``
name a hook and one of its metrics; ``validation(weights = NAME)`` and
``ema_swap(source = NAME)`` name a hook that provides averaged weights, and
``validation(weights = "ema")`` with no hook named ``ema`` needs the pipeline's
one ``ema`` hook. A typo there would only show after hours of training, so
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
        weights = info.args.get("weights", "model") if info.builtin.name == "validation" else "model"
        if weights == "ema" and "ema" not in ctx.hooks:
            if len(ema_hooks) != 1:
                found = "none" if not ema_hooks else ", ".join(f"`{h}`" for h in ema_hooks)
                ctx.error("HP003", f"`{name}` evaluates with weights = \"ema\", which needs exactly one `ema` hook "
                          f"(found {found})", _arg_span(info, "weights"),
                          help="declare one: `hook avg = ema(decay = 0.999)`, attached in step.after; "
                               "or name the hook: weights = \"avg\"")
        elif weights != "model":
            _provider(ctx, name, weights, _arg_span(info, "weights"), "evaluates with the weights of")
        if info.builtin.name == "ema_swap" and isinstance(info.args.get("source"), str):
            _provider(ctx, name, info.args["source"], _arg_span(info, "source"), "swaps in the weights of")


#: Built-in types that provide averaged weights (the ``AveragedWeights`` protocol).
AVERAGING = frozenset({"ema", "swa"})


def _provider(ctx: Compilation, name: str, source: str, span: Span, verb: str) -> None:
    """``source`` must be a hook that provides averaged weights: a built-in averager, or one writing ``ema``."""
    target = ctx.hooks.get(source)
    if target is None:
        ctx.unknown("HP002", f"`{name}` {verb} `{source}`, but there is no hook `{source}`", span,
                    help=did_you_mean(source, ctx.hooks) or "name an averaging hook: `hook avg = ema(decay = 0.999)`")
    elif target.builtin is not None and target.builtin.name not in AVERAGING:
        ctx.error("HP003", f"`{name}` {verb} `{source}`, but `{source}` ({target.type_name}) provides no averaged "
                  "weights", span, help=f"name an averaging hook ({', '.join(sorted(AVERAGING))}) or a custom hook "
                  "with `swapped_in(model)` and `averaged_state_dict()`, declared `writes ema`")
    elif target.builtin is None and "ema" not in target.all_effects.writes:
        ctx.error("HP003", f"`{name}` {verb} `{source}`, but `{source}` does not declare `writes ema`", span,
                  help="a custom averaging hook declares `{ writes ema }`, so it is ordered before its readers")


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
