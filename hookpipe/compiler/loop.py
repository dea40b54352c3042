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

Unit = Literal["step", "update", "epoch"]

#: Guard units; a runtime counter of the same name holds each one's occurrence number.
UNITS: tuple[Unit, ...] = ("step", "update", "epoch")

#: A scope's two phases, in the order one pass runs them.
PHASES: tuple[str, ...] = ("before", "after")


@dataclass(frozen=True, slots=True)
class Scope:
    """One scope of the loop.

    ``channel`` is the RoboOrchard ``PipelineHooks`` channel it maps to;
    ``units`` are what a frequency attached in one of its phases may count (HP007
    otherwise): a scope that runs inside a step counts steps and updates, and that
    is what :attr:`per_step` means.
    """

    name: str
    parent: str | None
    channel: str
    units: tuple[Unit, ...]

    @property
    def per_step(self) -> bool:
        """Whether it runs inside a step (it has a step id)."""
        return "step" in self.units


#: The scopes, outermost first; siblings (forward, backward) in the order they run.
SCOPE_TABLE: tuple[Scope, ...] = (
    Scope("loop", None, "on_loop", units=()),
    Scope("epoch", "loop", "on_epoch", units=("epoch",)),
    Scope("step", "epoch", "on_step", units=("step", "update")),
    Scope("batch", "step", "on_batch", units=("step", "update")),
    Scope("forward", "batch", "on_model_forward", units=("step", "update")),
    Scope("backward", "batch", "on_model_backward", units=("step", "update")),
)

SCOPES: tuple[str, ...] = tuple(s.name for s in SCOPE_TABLE)
PARENT: dict[str, str | None] = {s.name: s.parent for s in SCOPE_TABLE}
#: A scope's ``PipelineHooks`` channel (``forward`` -> ``on_model_forward``).
SCOPE_CHANNEL: dict[str, str] = {s.name: s.channel for s in SCOPE_TABLE}
#: Which units a phase of each scope can count.
SCOPE_UNITS: dict[str, tuple[Unit, ...]] = {s.name: s.units for s in SCOPE_TABLE}
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
