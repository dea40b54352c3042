"""When a seed hook really fires: its attachment's guard and its own step frequency.

RoboOrchard Lab's hooks filter themselves (``SaveCheckpoint`` saves in ``step.after``
only when ``(global_step_id + 1) % save_step_freq == 0``), so attached ``every step``
they still fire every ``save_step_freq`` steps. The lint rules that reason about
firings (HP102, HP108) read this combined guard; the Plan keeps the written one and
the hook keeps its own test, so nothing fires differently from the seed.
"""

from __future__ import annotations

from math import lcm

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.plan import Guard

__all__ = ["effective_guard"]


def effective_guard(ctx: Compilation, node: Node) -> Guard:
    """``node``'s guard combined with its hook type's step-frequency argument, if it has one."""
    guard = ctx.guards.get(node.id, Guard())
    info = ctx.hooks[node.hook]
    if info.builtin is None:
        return guard
    arg = dict(info.builtin.step_frequency).get(f"{node.scope}.{node.phase}")
    freq = info.args.get(arg) if arg is not None else None
    if not isinstance(freq, int) or freq < 1 or guard.unit not in (None, "step"):
        return guard
    if guard.unit is None or (guard.every == 1 and guard.start == 1):
        return Guard("step", freq, freq)
    period = lcm(guard.every, freq)
    first = next((c for c in range(guard.start, guard.start + period, guard.every) if c % freq == 0), None)
    # No common firing: keep the written guard (the hook then never saves; nothing to compare).
    return guard if first is None else Guard("step", period, first)
