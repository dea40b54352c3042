"""Pass: arguments that name other hooks.

``early_stop(monitor = "evaluate.accuracy")`` and ``checkpoint(monitor = ...)``
name a hook and one of its metrics; ``validation(weights = NAME)`` and
``ema_swap(source = NAME)`` name a hook that provides averaged weights, and
``validation(weights = "ema")`` with no hook named ``ema`` needs the pipeline's
one ``ema`` hook. A typo there would only show after hours of training, so
the hook must exist (HP002, with a suggestion), write ``metrics`` (HP003), and
there must be exactly one ``ema`` hook to take weights from (HP003). The metric key
itself is known only when the callback returns; the runtime names the keys it got.

A seed hook's callbacks may rely on each other too: ``StatsMonitor`` attached after
steps but not before the loop stops the run at step 1, so that is HP006 here
(:func:`_needed_phases`, from ``catalog.HookType.needs``).

The rules are written once, over :class:`Referent` (what a rule needs to know of a
hook), so the compiler and ``hookpipe run --set`` (which changes a Plan's arguments
after it was checked, ``runtime.plan.overrides``) apply the same ones with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from hookpipe.compiler.context import Compilation, HookInfo
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.dsl.span import Span

__all__ = ["AVERAGING", "Problem", "Referent", "check_references", "reference_problems"]

_MONITORING = frozenset({"early_stop", "checkpoint", "lr_plateau"})
#: Built-in types that provide averaged weights (the ``AveragedWeights`` protocol).
AVERAGING = frozenset({"ema", "swa"})


@dataclass(frozen=True)
class Referent:
    """What the reference rules read of a hook that an argument may name."""

    builtin: str | None  # the built-in type's name; None for a custom class
    type_name: str
    writes: tuple[str, ...]  # every resource any of its callbacks writes


@dataclass(frozen=True)
class Problem:
    """A reference that does not hold: HP002 (no such hook) or HP003 (a hook of the wrong kind)."""

    code: str
    message: str
    help: str


def check_references(ctx: Compilation) -> None:
    _needed_phases(ctx)
    hooks = {name: Referent(info.builtin.name if info.builtin is not None else None, info.type_name,
                            info.all_effects.writes) for name, info in ctx.hooks.items()}
    for name, info in ctx.hooks.items():
        if info.builtin is None or not info.args_ok:
            continue
        for arg, problem in reference_problems(name, info.builtin.name, info.args, hooks):
            report = ctx.unknown if problem.code == "HP002" else ctx.error
            report(problem.code, problem.message, _arg_span(info, arg), help=problem.help)


def _needed_phases(ctx: Compilation) -> None:
    """HP006 where a seed hook is attached in a phase whose callback needs a phase it is not attached in.

    Another kind of reference: one of a hook's callbacks relies on another having run
    (``StatsMonitor`` after a step needs its ``loop.before`` callback, which starts its
    clock, else it stops the run at step 1 with an AssertionError). The hook type lists
    these (``catalog.HookType.needs``); one error per hook, at its first such attachment.
    """
    attached: dict[str, set[str]] = {}
    for node in ctx.nodes:
        attached.setdefault(node.hook, set()).add(f"{node.scope}.{node.phase}")
    reported: set[str] = set()
    for node in ctx.nodes:
        info = ctx.hooks.get(node.hook)
        if node.hook in reported or info is None or info.builtin is None or not info.builtin.needs:
            continue
        phase = f"{node.scope}.{node.phase}"
        needed = dict(info.builtin.needs).get(phase, ())
        missing = [p for p in needed if p not in attached[node.hook]]
        if not missing:
            continue
        reported.add(node.hook)
        kind = info.builtin.name
        listed = " and ".join(f"`{p}`" for p in missing)
        blocks = " ".join(_block(p, node.hook) for p in missing)
        failure = f" ({info.builtin.needs_failure})" if info.builtin.needs_failure else ""
        them = "them" if len(missing) > 1 else "it"
        ctx.error("HP006", f"`{node.hook}` ({kind}) is attached in `{phase}`, whose callback needs its {listed} "
                  f"callback{'s' if len(missing) > 1 else ''} to have run: without {them} the run stops the first "
                  f"time `{phase}` runs{failure}", node.attachment.name_span,
                  help=f"attach it there too: {blocks}; {kind} acts in "
                       f"{', '.join(f'`{p}`' for p in info.builtin.phases)}")


def _block(phase: str, hook: str) -> str:
    """``loop { before { st } }`` for ``loop.before``; an epoch's phases inside ``loop { epoch { ... } }``."""
    scope, when = phase.split(".")
    inner = f"{scope} {{ {when} {{ {hook} }} }}"
    return f"`{inner}`" if scope == "loop" else f"`loop {{ {inner} }}`"


def reference_problems(name: str, builtin: str, args: Mapping[str, Any],
                       hooks: Mapping[str, Referent]) -> Iterator[tuple[str, Problem]]:
    """Each argument of hook ``name`` (of built-in type ``builtin``) that names a hook wrongly, with why."""
    if builtin in _MONITORING and isinstance(monitor := args.get("monitor"), str):
        if (problem := _monitor(name, monitor, hooks)) is not None:
            yield "monitor", problem
    weights = args.get("weights", "model") if builtin == "validation" else "model"
    if weights == "ema" and "ema" not in hooks:
        ema_hooks = [hook for hook, target in hooks.items() if target.builtin == "ema"]
        if len(ema_hooks) != 1:
            found = "none" if not ema_hooks else ", ".join(f"`{h}`" for h in ema_hooks)
            yield "weights", Problem("HP003", f"`{name}` evaluates with weights = \"ema\", which needs exactly one "
                                     f"`ema` hook (found {found})",
                                     "declare one: `hook avg = ema(decay = 0.999)`, attached in step.after; "
                                     "or name the hook: weights = \"avg\"")
    elif isinstance(weights, str) and weights != "model":
        if (problem := _provider(name, weights, hooks, "evaluates with the weights of")) is not None:
            yield "weights", problem
    if builtin == "ema_swap" and isinstance(source := args.get("source"), str):
        if (problem := _provider(name, source, hooks, "swaps in the weights of")) is not None:
            yield "source", problem


def _provider(name: str, source: str, hooks: Mapping[str, Referent], verb: str) -> Problem | None:
    """``source`` must be a hook that provides averaged weights: a built-in averager, or one writing ``ema``."""
    target = hooks.get(source)
    if target is None:
        return Problem("HP002", f"`{name}` {verb} `{source}`, but there is no hook `{source}`",
                       did_you_mean(source, hooks) or "name an averaging hook: `hook avg = ema(decay = 0.999)`")
    if target.builtin is not None and target.builtin not in AVERAGING:
        return Problem("HP003", f"`{name}` {verb} `{source}`, but `{source}` ({target.type_name}) provides no "
                       "averaged weights", f"name an averaging hook ({', '.join(sorted(AVERAGING))}) or a custom "
                       "hook with `swapped_in(model)` and `averaged_state_dict()`, declared `writes ema`")
    if target.builtin is None and "ema" not in target.writes:
        return Problem("HP003", f"`{name}` {verb} `{source}`, but `{source}` does not declare `writes ema`",
                       "a custom averaging hook declares `{ writes ema }`, so it is ordered before its readers")
    return None


def _monitor(name: str, monitor: str, hooks: Mapping[str, Referent]) -> Problem | None:
    hook, _, _key = monitor.partition(".")
    target = hooks.get(hook)
    if target is None:
        return Problem("HP002", f"`{name}` monitors `{monitor}`, but there is no hook `{hook}`",
                       did_you_mean(hook, hooks) or "monitor = \"HOOK.METRIC\", e.g. \"evaluate.loss\"")
    if "metrics" not in target.writes:
        return Problem("HP003", f"`{name}` monitors `{monitor}`, but `{hook}` ({target.type_name}) produces no "
                       "metrics", "monitor a validation hook, or declare `writes metrics` on the hook")
    return None


def _arg_span(info: HookInfo, arg: str) -> Span:
    for a in info.decl.args:
        if a.name == arg:
            return a.span
    return info.decl.span
