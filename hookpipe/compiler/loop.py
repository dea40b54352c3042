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

Unit = Literal["step", "update", "epoch", "batch"]

#: Guard units of the training loop that a checkpoint carries over; a runtime counter of the same
#: name holds each one's occurrence number.
UNITS: tuple[Unit, ...] = ("step", "update", "epoch")
#: The unit of a validation run's own scopes: validation batches (``batch_id + 1``).
VALIDATION_UNITS: tuple[Unit, ...] = ("batch",)
#: In a training step's scopes ``batch`` counts the epoch's batches (``step_id + 1``, restarting at
#: every epoch: the within-epoch intervals of MMEngine's logger and Lightning's ``val_check_interval``).



def plural(unit: str) -> str:
    """How a frequency spells ``unit`` after a count other than 1 (``every 3 batches``)."""
    return "batches" if unit == "batch" else f"{unit}s"


def every(count: int, unit: str) -> str:
    """A frequency as a ``.pipe`` file writes it: ``every epoch``, ``every 3 batches``."""
    return f"every {unit}" if count == 1 else f"every {count} {plural(unit)}"


#: A scope's two phases, in the order one pass runs them.
PHASES: tuple[str, ...] = ("before", "after")


@dataclass(frozen=True, slots=True)
class Scope:
    """One scope of the loop.

    ``channel`` is the RoboOrchard ``PipelineHooks`` channel it maps to;
    ``units`` are what a frequency attached in one of its phases may count (HP007
    otherwise): a scope that runs inside a step counts steps and updates (and the
    epoch's batches), and that is what :attr:`per_step` means.
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
    Scope("step", "epoch", "on_step", units=("step", "update", "batch")),
    Scope("batch", "step", "on_batch", units=("step", "update", "batch")),
    Scope("forward", "batch", "on_model_forward", units=("step", "update", "batch")),
    Scope("backward", "batch", "on_model_backward", units=("step", "update", "batch")),
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
        >>> callback_name(validation_scope("evaluate", "batch"), "after")
        'on_validation_batch_end'
    """
    split = split_validation_scope(scope)
    channel = SCOPE_CHANNEL[scope] if split is None else VALIDATION_CHANNEL[split[1]]
    return f"{channel}_{'begin' if phase == 'before' else 'end'}"


# --- a validation run's own scopes ---------------------------------------------------
#
# ``validation NAME { before { } batch { before { } after { } } after { } }`` opens the
# scopes of the loop a ``validation(..., dataloader = ...)`` hook runs over its loader.
# They are keyed by the hook: the compiler's scope names are ``validation[NAME]`` and
# ``validation[NAME].batch``, the Plan keeps them under ``validation`` by hook name.

#: The keyword of the top-level block.
VALIDATION = "validation"
#: A validation run's scopes, outermost first (``validation`` is the run, ``batch`` one batch).
VALIDATION_SCOPES: tuple[str, ...] = ("validation", "batch")
#: The method a custom hook defines for each (``on_validation_begin``, ``on_validation_batch_end``...).
VALIDATION_CHANNEL: dict[str, str] = {"validation": "on_validation", "batch": "on_validation_batch"}


def validation_scope(hook: str, inner: str) -> str:
    """The compiler's name of one scope of ``hook``'s validation run.

    Example:
        >>> validation_scope("evaluate", "batch")
        'validation[evaluate].batch'
    """
    top = f"{VALIDATION}[{hook}]"
    return top if inner == VALIDATION else f"{top}.{inner}"


def split_validation_scope(scope: str) -> tuple[str, str] | None:
    """``(hook, inner scope)`` for a name made by :func:`validation_scope`, None for the loop's scopes."""
    if not scope.startswith(VALIDATION + "["):
        return None
    hook, _, rest = scope[len(VALIDATION) + 1:].partition("]")
    return hook, rest[1:] if rest else VALIDATION


def validation_phase_order(hook: str) -> tuple[tuple[str, str], ...]:
    """The (scope, phase) pairs of ``hook``'s validation run, in the order they run."""
    top, batch = validation_scope(hook, VALIDATION), validation_scope(hook, "batch")
    return ((top, "before"), (batch, "before"), (batch, "after"), (top, "after"))


def scope_units(scope: str) -> tuple[Unit, ...]:
    """What a frequency in a phase of ``scope`` may count (HP007 otherwise)."""
    split = split_validation_scope(scope)
    if split is None:
        return SCOPE_UNITS[scope]
    return VALIDATION_UNITS if split[1] == "batch" else ()
