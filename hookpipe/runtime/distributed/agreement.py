"""Every process runs the same Plan: checked before any factory or step runs.

Ranks that compiled different files (a stale checkout on one node, an edited
``.pipe`` file, a different ``--set``) would otherwise hang in the first
collective or, worse, train different loops. Each rank sends its Plan's content
hash and hookpipe's version to all; any difference from the main process stops
every rank with an error naming the ranks that differ.
"""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.plan import Plan
from hookpipe.runtime.errors import PlanResolveError

__all__ = ["check_agreement", "check_batches"]


def check_agreement(accelerator: Any, plan: Plan) -> None:
    """Raise :class:`PlanResolveError` on every rank unless all ranks hold the main process's Plan."""
    if accelerator.num_processes <= 1:
        return
    from accelerate.utils import gather_object

    from hookpipe import __version__

    mine = (plan.content_hash, __version__)
    everyone = gather_object([mine])
    main = everyone[0]
    differ = [rank for rank, theirs in enumerate(everyone) if theirs != main]
    if differ:
        details = "; ".join(
            f"rank {rank}: plan {everyone[rank][0][:12]}, hookpipe {everyone[rank][1]}" for rank in differ
        )
        raise PlanResolveError(
            f"the processes do not run the same pipeline: rank(s) {', '.join(map(str, differ))} differ from the main "
            f"process (plan {main[0][:12]}, hookpipe {main[1]}): {details}; "
            "give every process the same .pipe file, --set values and hookpipe version"
        )


def check_batches(accelerator: Any, per_epoch: int | None) -> None:
    """Raise :class:`PlanResolveError` on every rank unless all ranks have as many batches per epoch.

    A rank that runs out of batches first leaves the step loop while the others
    wait in the next step's collectives: both would hang until the process group's
    timeout (30 minutes by default), then ignore SIGTERM inside it. One exchange
    before the first step turns that into an error naming the ranks and counts.
    Dataloaders without ``len`` (iterable datasets) cannot be compared here.
    """
    if accelerator.num_processes <= 1:
        return
    from accelerate.utils import gather_object

    everyone = gather_object([per_epoch])
    if len(set(everyone)) > 1:
        counts = ", ".join(f"rank {rank}: {'no len()' if n is None else f'{n:,}'}" for rank, n in enumerate(everyone))
        raise PlanResolveError(
            f"the processes disagree on the number of batches per epoch ({counts}); every process must see the "
            "same number, or the ones that run out first wait forever for the others: let accelerate shard one "
            "dataloader (even_batches), or give each rank a loader of the same length (drop_last=True)"
        )
