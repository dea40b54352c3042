"""A validation run's own scopes at run time (``validation NAME { before { } batch { } after { } }``).

The Plan keeps them under ``Plan.validation`` by hook name; :func:`build_plan_hooks
<hookpipe.runtime.plan.plan_hooks.build_plan_hooks>` compiles each phase into calls
and hands them to the validation hook (``bind_validation_scopes``), which runs them
from inside its own loop over the validation loader: ``before`` once before the
first batch, ``batch.before`` / ``batch.after`` around each batch, ``after`` once
the metrics are computed. Guards count validation batches (``Counters.batch``, the
training step's count again once the phase has run).
"""

from __future__ import annotations

from typing import Any

from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.dispatch.channels import Call, Counters, run_calls

__all__ = ["ValidationScopes"]


class ValidationScopes:
    """The calls of one validation hook's four phases, keyed ``(scope, phase)`` (``("batch", "after")``)."""

    def __init__(self, phases: dict[tuple[str, str], tuple[Call, ...]], counters: Counters) -> None:
        self.phases = phases
        self.counters = counters

    def run(self, scope: str, phase: str, args: PipelineHookArgs, *, batch_id: int | None = None,
            last: bool = False) -> None:
        """Run one phase; inside ``batch`` the guards count ``batch_id + 1`` (``last``: the loader's last batch)."""
        calls = self.phases.get((scope, phase), ())
        if not calls:
            return
        counters = self.counters
        current: Any = counters.current  # a checkpoint's place in the training phase stays what it was
        # The training step's batch count, read by the attachments after the validation in its phase.
        training_batch = counters.batch, counters.last_batch
        if batch_id is not None:
            counters.batch, counters.last_batch = batch_id + 1, last
        try:
            run_calls(calls, args, counters)
        finally:
            counters.current = current
            counters.batch, counters.last_batch = training_batch
