"""What the ``test_trial_resume_*`` files' ``.pipe`` texts name: hooks that set up in ``before`` phases, a probe."""

from __future__ import annotations

from typing import Any, Iterator

import torch

from hookpipe.runtime import PipelineHookArgs

#: ``(global step, sync_gradients)`` at each step's start, recorded by :class:`SyncProbe`.
SYNCS: list[tuple[int, bool]] = []


class SetupHook:
    """A user's hook that sets itself up in ``loop.before``/``epoch.before`` and checkpoints nothing."""

    def __init__(self) -> None:
        self.loops = self.epochs = 0

    def on_loop_begin(self, args: PipelineHookArgs) -> None:
        self.loops += 1

    def on_epoch_begin(self, args: PipelineHookArgs) -> None:
        self.epochs += 1


class StatefulSetupHook(SetupHook):
    """The same, with its state checkpointed: a resume restores what the skipped phases set."""

    def state_dict(self) -> dict[str, Any]:
        return {"loops": self.loops, "epochs": self.epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loops, self.epochs = state["loops"], state["epochs"]


class SyncProbe:
    """Records whether accelerate synchronises gradients in each step (False inside an accumulation window)."""

    def on_step_begin(self, args: PipelineHookArgs) -> None:
        SYNCS.append((args.global_step_id, bool(args.accelerator.sync_gradients)))


class PlainBatches:
    """A training loader accelerate does not prepare: a plain iterable of ``(x, y)`` batches, no ``len``."""

    def __init__(self, n: int = 12, batch_size: int = 2) -> None:
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(n, 4, generator=g)
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for i in range(0, len(self.x), self.batch_size):
            x = self.x[i:i + self.batch_size]
            yield x, x.sum(dim=1, keepdim=True)


def plain_batches(n: int = 12, batch_size: int = 2) -> PlainBatches:
    return PlainBatches(n, batch_size)
