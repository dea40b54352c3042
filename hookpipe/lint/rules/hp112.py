"""HP112: a RoboOrchard Lab hook not attached in a phase where its own callbacks act.

A seed hook registers its callbacks itself (``MetricTracker`` updates its metrics
after each batch and logs them after steps and epochs), and in a ``.pipe`` file it
runs only where it is attached: attached only in ``step.after``, its batch update
never runs, and the metrics it logs were never fed. The run warns when it starts;
this says it before any job is submitted. Phases whose callback the arguments turn
off (``save_epoch_freq = none``) are not asked for.

A missing phase that makes an attached callback fail (``StatsMonitor`` after steps
without ``loop.before``: an AssertionError at step 1) is not this warning but
HP006, an error of the compiler (``compiler.references``, from ``HookType.needs``).
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.rules._common import warning

CODE = "HP112"


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    attached: dict[str, set[str]] = {}
    first: dict[str, Node] = {}
    for node in ctx.nodes:
        attached.setdefault(node.hook, set()).add(f"{node.scope}.{node.phase}")
        first.setdefault(node.hook, node)
    for hook, where in attached.items():
        info = ctx.hooks[hook]
        if info.builtin is None or not info.builtin.seed_class:
            continue
        missing = [phase for phase in info.builtin.phases_acting(info.args) if phase not in where]
        if not missing:
            continue
        listed = ", ".join(f"`{phase}`" for phase in missing)
        example = missing[0].split(".")
        yield warning(
            CODE,
            f"`{hook}` ({info.builtin.name}) registers callbacks in {listed}, where it is not attached: "
            f"{'they do' if len(missing) > 1 else 'it does'} not run",
            first[hook].attachment.span,
            help=f"attach it there too, e.g. `{example[0]} {{ {example[1]} {{ {hook} }} }}`, or turn that part off "
                 "with its argument",
        )
