"""The trainer's running loss sum, for hooks that report a mean over many steps.

``log()`` and ``loss_log`` fire every N steps but must report the mean loss of all
the steps since their last report, not of the step they fire on. The trainer adds
each step's loss here (a tensor add on the device: no ``.item()``, no sync); the
reader takes the mean when it reports (:meth:`LossMeter.take_mean`, one all-reduce
with several processes). It exists only when a hook asks for it
(:meth:`HookBasedTrainer.add_loss_meter`), so a run without one pays nothing.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["LossMeter"]


class LossMeter:
    """Sum and count of the losses since the last :meth:`take`, in float64."""

    def __init__(self) -> None:
        self._sum: torch.Tensor | None = None
        self._count = 0

    def add(self, loss: Any) -> None:
        if loss is None:
            return
        if isinstance(loss, torch.Tensor):
            value = loss.detach().to(torch.float64)
        else:
            value = torch.tensor(float(loss), dtype=torch.float64)
        self._sum = value if self._sum is None else self._sum + value
        self._count += 1

    def take(self, device: Any) -> tuple[torch.Tensor, int]:
        """The sum (a float64 tensor on ``device``) and count so far; then start again."""
        total = self._sum if self._sum is not None else torch.zeros((), dtype=torch.float64)
        out = (total.to(device), self._count)
        self._sum, self._count = None, 0
        return out

    def take_mean(self, accelerator: Any, *, across_processes: bool = True) -> float | None:
        """The mean loss since the last take (None: no step since); then start again.

        With several processes and ``across_processes`` it is the mean over every
        step of every process: one all-reduce of the sum and count, so every process
        must call it at the same moment.
        """
        total, count = self.take(accelerator.device)
        if across_processes and accelerator.num_processes > 1:
            import torch.distributed as dist

            pair = torch.stack([total, torch.tensor(float(count), dtype=torch.float64, device=total.device)])
            dist.all_reduce(pair, op=dist.ReduceOp.SUM)
            total, count = pair[0], int(pair[1])
        return float(total) / count if count else None

    def state_dict(self) -> dict[str, Any]:
        return {"sum": None if self._sum is None else float(self._sum), "count": self._count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._sum = None if state["sum"] is None else torch.tensor(state["sum"], dtype=torch.float64)
        self._count = int(state["count"])
