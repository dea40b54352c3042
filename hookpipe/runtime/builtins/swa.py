"""``swa(start, lr, anneal_epochs = 10, anneal_strategy = "cos")``: stochastic weight averaging.

PyTorch's recipe (``torch.optim.swa_utils``), as its documentation writes it and
Lightning's ``StochasticWeightAveraging`` runs it: attached in ``epoch.after``, at
the end of every epoch from the ``start``-th on (1-based, as frequencies count) the
model's weights go into an :class:`~torch.optim.swa_utils.AveragedModel` (an equal
average) and :class:`~torch.optim.swa_utils.SWALR` steps, annealing the learning
rate to ``lr`` over ``anneal_epochs`` epochs. Attached in ``loop.after`` too, it
runs :func:`~torch.optim.swa_utils.update_bn` over the training dataloader at the
end, so the average's batch-norm statistics are its own.

From ``start`` SWALR owns the learning rate: a trainer ``lr_scheduler``, which the
``optimizer`` hook steps on every update, would overwrite it, so swa does not run
with one at all. ``hookpipe check`` reports the pair (HP003); a Plan run refuses
it before anything is built (:func:`hookpipe.runtime.build.plan_parts`, also for an
``lr_scheduler`` given in Python); a trainer built in Python with its own hooks
gets the same error when the averaging would start. The averaged weights are
nameable by ``ema_swap(source = ...)`` and ``validation(weights = ...)`` (the
``AveragedWeights`` protocol), and are checkpointed with the number averaged.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Iterator, Literal

import torch
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.errors import HookpipeRuntimeError

__all__ = ["SwaHook", "scheduler_conflict"]


def scheduler_conflict(hook: str | None, start: object) -> str:
    """Why ``swa`` cannot run with a trainer ``lr_scheduler``, and what to do (one line)."""
    name = f"`{hook}` (swa)" if hook else "swa"
    at = f" (epoch {start})" if isinstance(start, int) and not isinstance(start, bool) else ""
    return (f"{name} cannot run with a trainer lr_scheduler: from its start{at} SWALR sets the learning rate, "
            "and the optimizer hook steps the lr_scheduler on every update, which would overwrite it; remove "
            "the lr_scheduler (swa takes over the learning rate at its start), or the swa hook")


class SwaHook:
    """Stochastic weight averaging.

    Args:
        start: The first epoch (1-based) whose end is averaged.
        lr: The SWA learning rate.
        anneal_epochs: Epochs SWALR takes to anneal to ``lr``.
        anneal_strategy: ``"cos"`` or ``"linear"``.
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["swa"].effects.to_json()

    def __init__(self, start: int, lr: float, anneal_epochs: int = 10,
                 anneal_strategy: Literal["cos", "linear"] = "cos") -> None:
        self.start = start
        self.lr = lr
        self.anneal_epochs = anneal_epochs
        self.anneal_strategy = anneal_strategy
        self.averaged: AveragedModel | None = None
        self.scheduler: SWALR | None = None
        #: State restored from a checkpoint, applied when the average is rebuilt.
        self._restored: dict[str, Any] | None = None
        #: SWALR's steps from a checkpoint, replayed when SWALR is made again.
        self._pending_steps = 0
        self.bn_updated = False

    def _start(self, args: PipelineHookArgs) -> None:
        if args.lr_scheduler is not None:  # a Plan run refused it before building anything (build.plan_parts)
            raise HookpipeRuntimeError(scheduler_conflict(None, self.start))
        if args.optimizer is None:
            raise ValueError("swa needs the optimizer in the hook arguments")
        self._average(args.accelerator.unwrap_model(args.model))
        steps, self._pending_steps = self._pending_steps, 0
        self.scheduler = SWALR(args.optimizer, swa_lr=self.lr, anneal_epochs=self.anneal_epochs,
                               anneal_strategy=self.anneal_strategy)
        for _ in range(steps):
            self.scheduler.step()

    def _average(self, model: torch.nn.Module) -> AveragedModel:
        """The averaged model: made from ``model``, or rebuilt from a checkpoint's state."""
        if self.averaged is None:
            self.averaged = AveragedModel(model)
            if self._restored is not None:
                state, self._restored = self._restored, None
                self._pending_steps = int(state["scheduler_steps"])
                with torch.no_grad():
                    for p, saved in zip(self.averaged.module.parameters(), state["averaged"]):
                        p.copy_(saved.to(p.device))
                    self.averaged.n_averaged.fill_(int(state["n_averaged"]))
        return self.averaged

    def on_epoch_end(self, args: PipelineHookArgs) -> None:
        if args.epoch_id + 1 < self.start:
            return
        started = self.scheduler is None
        if started:
            self._start(args)
        assert self.averaged is not None and self.scheduler is not None
        self.averaged.update_parameters(args.accelerator.unwrap_model(args.model))
        with warnings.catch_warnings():
            if started:  # made after the optimizer's steps (PyTorch's recipe makes it before): nothing is skipped
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)` before")
            self.scheduler.step()

    def on_loop_end(self, args: PipelineHookArgs) -> None:
        """Recompute the average's batch-norm statistics over the training data."""
        if self.averaged is None:
            return
        device = next(self.averaged.parameters()).device
        update_bn(args.dataloader, self.averaged, device=device)  # type: ignore[arg-type]
        self.bn_updated = True

    @contextlib.contextmanager
    def swapped_in(self, model: Any) -> Iterator[None]:
        """The averaged weights (and its buffers) in the model for the block; the training ones back after.

        Before the averaging starts the model keeps its own weights.
        """
        from accelerate.utils import extract_model_from_parallel

        target = extract_model_from_parallel(model)
        if self.averaged is None and self._restored is not None:
            self._average(target)  # resumed: the average from the checkpoint
        if self.averaged is None:
            yield
            return
        live = {k: v.detach().clone() for k, v in target.state_dict().items()}
        try:
            with torch.no_grad():
                target.load_state_dict(self.averaged.module.state_dict())
            yield
        finally:
            with torch.no_grad():
                target.load_state_dict(live)

    def averaged_state_dict(self) -> dict[str, torch.Tensor]:
        """The average's parameters and buffers by name (empty before the averaging starts)."""
        return dict(self.averaged.module.state_dict()) if self.averaged is not None else {}

    def state_dict(self) -> dict[str, Any]:
        """The averaged parameters (tensors), how many were averaged, and SWALR's steps so far."""
        if self.averaged is None:
            return self._restored or {"started": False}
        steps = int(self.scheduler.last_epoch) if self.scheduler is not None else self._pending_steps
        return {"started": True, "n_averaged": int(self.averaged.n_averaged),
                "averaged": [p.detach() for p in self.averaged.module.parameters()],
                "scheduler_steps": steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.averaged = None
        self.scheduler = None
        self._restored = state if state.get("started") else None
