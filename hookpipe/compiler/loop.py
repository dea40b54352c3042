"""The shape of the training loop: its scopes, how they nest, and their phases.

Everything that walks the loop (scope checking, graph building, lowering,
``explain --steps``, lint rules, the renderer and the runtime's channels) reads
the one table below; the visiting order of the twelve (scope, phase) pairs and the
RoboOrchard channel names are derived from it, not written out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Phase = Literal["before", "after"]

#: A scope's two phases, in the order one pass runs them.
PHASES: tuple[str, ...] = ("before", "after")


@dataclass(frozen=True, slots=True)
class Scope:
    """One scope of the loop.

    ``channel`` is the RoboOrchard ``PipelineHooks`` channel it maps to;
    ``per_step`` says whether it runs inside a step (its guards count steps and
    updates, and it has a step id).
    """

    name: str
    parent: str | None
    channel: str
    per_step: bool


#: The scopes, outermost first; siblings (forward, backward) in the order they run.
SCOPE_TABLE: tuple[Scope, ...] = (
    Scope("loop", None, "on_loop", per_step=False),
    Scope("epoch", "loop", "on_epoch", per_step=False),
    Scope("step", "epoch", "on_step", per_step=True),
    Scope("batch", "step", "on_batch", per_step=True),
    Scope("forward", "batch", "on_model_forward", per_step=True),
    Scope("backward", "batch", "on_model_backward", per_step=True),
)

SCOPES: tuple[str, ...] = tuple(s.name for s in SCOPE_TABLE)
PARENT: dict[str, str | None] = {s.name: s.parent for s in SCOPE_TABLE}
#: A scope's ``PipelineHooks`` channel (``forward`` -> ``on_model_forward``).
SCOPE_CHANNEL: dict[str, str] = {s.name: s.channel for s in SCOPE_TABLE}
#: The scopes that run inside a step.
STEP_SCOPES: frozenset[str] = frozenset(s.name for s in SCOPE_TABLE if s.per_step)


def _visit(scope: str | None) -> tuple[tuple[str, str], ...]:
    inner = tuple(pair for s in SCOPES if PARENT[s] == scope for pair in _visit(s))
    return inner if scope is None else ((scope, "before"), *inner, (scope, "after"))


_ORDER = _visit(None)


def phase_order() -> tuple[tuple[str, str], ...]:
    """Every (scope, phase) in the order a single pass of the loop visits them.

    Example:
        >>> phase_order()[:3]
        (('loop', 'before'), ('epoch', 'before'), ('step', 'before'))
    """
    return _ORDER


def step_phase_order() -> tuple[tuple[str, str], ...]:
    """The (scope, phase) pairs one step runs, in order."""
    return tuple(pair for pair in _ORDER if pair[0] in STEP_SCOPES)


def callback_name(scope: str, phase: str) -> str:
    """The RoboOrchard channel method a (scope, phase) maps to.

    Example:
        >>> callback_name("forward", "before")
        'on_model_forward_begin'
    """
    return f"{SCOPE_CHANNEL[scope]}_{'begin' if phase == 'before' else 'end'}"
