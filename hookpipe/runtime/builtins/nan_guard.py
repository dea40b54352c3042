"""``nan_guard``: a non-finite loss or gradient skips the update instead of poisoning the weights.

Attach it before the optimizer (its effects, ``reads loss, writes grads``, order it
there): on a bad step it drops the gradients (``zero_grad(set_to_none=True)``), so
the optimizer step that follows leaves the parameters as they were, and warns.
After ``max_consecutive`` bad steps in a row the run is stopped after the step, a
checkpoint is written when the Plan has a checkpoint hook, and ``hookpipe run``
exits 1 naming the step: something is wrong beyond a stray batch. With several
processes the decision is all-reduced, so every rank skips (and stops) together.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs

__all__ = ["NanGuardHook"]


class NanGuardHook:
    """Skip updates whose loss or gradients are not finite; stop after too many in a row.

    Args:
        max_consecutive: Bad steps in a row that stop the run.
        check_grads: Also test the gradients (on steps that synchronise them).
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["nan_guard"].effects.to_json()

    def __init__(self, max_consecutive: int = 3, check_grads: bool = True) -> None:
        if max_consecutive < 1:
            raise ValueError("max_consecutive must be at least 1")
        self.max_consecutive = max_consecutive
        self.check_grads = check_grads
        self.consecutive = 0
        #: Global steps (0-based) whose update was skipped.
        self.skipped: list[int] = []
        self._trainer: Any = None

    def bind_trainer(self, trainer: Any) -> None:
        """The trainer's stop request is how the guard ends the run."""
        self._trainer = trainer

    def state_dict(self) -> dict[str, Any]:
        return {"consecutive": self.consecutive, "skipped": list(self.skipped)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.consecutive = int(state["consecutive"])
        self.skipped = [int(x) for x in state["skipped"]]

    def _bad(self, args: PipelineHookArgs) -> bool:
        loss = args.reduce_loss
        bad = loss is not None and not math.isfinite(float(loss.detach() if isinstance(loss, torch.Tensor) else loss))
        if not bad and self.check_grads and args.accelerator.sync_gradients and args.model is not None:
            bad = any(p.grad is not None and not torch.isfinite(p.grad).all() for p in args.model.parameters())
        if args.accelerator.num_processes > 1:
            import torch.distributed as dist

            flag = torch.tensor([1 if bad else 0], device=args.accelerator.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            bad = bool(flag.item())
        return bad

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if not self._bad(args):
            self.consecutive = 0
            return
        self.consecutive += 1
        self.skipped.append(args.global_step_id)
        if args.optimizer is not None:
            args.optimizer.zero_grad(set_to_none=True)
        message = (f"nan_guard: non-finite loss or gradient in step {args.global_step_id + 1}; "
                   f"update skipped ({self.consecutive} in a row)")
        if args.accelerator.is_main_process:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        if self.consecutive >= self.max_consecutive and self._trainer is not None:
            self._trainer.stop.request(
                f"nan_guard: {self.consecutive} consecutive steps with a non-finite loss or gradient "
                f"(the last in step {args.global_step_id + 1}); stopped", 1, everywhere=True)
