"""The argument every hook callback receives, with the seed's fields.

Kept field-for-field compatible with RoboOrchard Lab's ``PipelineHookArgs`` so hooks
written against the seed read the same attributes here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional, Protocol, runtime_checkable

import torch
from accelerate import Accelerator

if TYPE_CHECKING:
    from hookpipe.runtime.run_context import RunContext

__all__ = ["ModelOutput", "ModelOutputHasLossKeys", "PipelineHookArgs", "last_epoch"]


@runtime_checkable
class ModelOutput(Protocol):
    """A mapping-like model output (what a batch processor may return; a dict is one)."""

    def __getitem__(self, key: str) -> Any: ...

    def keys(self) -> Iterable[Any]: ...

    def items(self) -> Iterable[tuple[Any, Any]]: ...

    def values(self) -> Iterable[Any]: ...


@runtime_checkable
class ModelOutputHasLossKeys(ModelOutput, Protocol):
    """A model output that says which of its keys are losses (``LossTracker`` asks it)."""

    def loss_keys(self) -> Iterable[str]: ...


@dataclass
class PipelineHookArgs:
    """State passed to hook callbacks at one scope.

    Ids are 0-based: ``epoch_id`` is the current epoch, ``step_id`` the batch index
    in the epoch and ``global_step_id`` the batch index across epochs (the step being
    run, inside ``on_step``/``on_batch``; the number of steps done, once synced at an
    epoch or loop end, as in the seed).
    """

    accelerator: Accelerator
    epoch_id: int = 0
    step_id: int = 0
    global_step_id: int = 0
    max_epoch: Optional[int] = None
    max_step: Optional[int] = None
    start_epoch: int = 0
    start_step: int = 0
    dataloader: Optional[Iterable] = None
    model: Optional[torch.nn.Module] = None
    optimizer: Optional[Any] = None
    lr_scheduler: Optional[Any] = None
    batch: Optional[Any] = None
    model_outputs: Optional[Any] = None
    reduce_loss: Optional[torch.Tensor] = None
    """The loss averaged across processes (the process's own loss when there is one).

    The batch processor back-propagates its own process's loss; this is the value
    to log.
    """
    run: Optional["RunContext"] = None
    """hookpipe's addition: the run's size and :meth:`RunContext.request_stop`
    (see :mod:`hookpipe.runtime.run_context`); the trainer always sets it."""

    def copy_with_updates(self, **kwargs: Any) -> "PipelineHookArgs":
        """A shallow copy with some attributes replaced (unknown names are an error).

        Example:
            >>> args.copy_with_updates(batch=new_batch)  # doctest: +SKIP
        """
        for key in kwargs:
            if not hasattr(self, key):
                raise AttributeError(f"{key} is not a valid attribute")
        # A dict copy, not __init__ with every field: this runs twice per training step.
        instance = object.__new__(self.__class__)
        fields = self.__dict__.copy()
        fields.update(kwargs)
        instance.__dict__ = fields
        return instance


def last_epoch(loop_args: PipelineHookArgs) -> int:
    """The 0-based id of the last epoch that ran, for what reports at the loop's end.

    At ``loop.after`` the arguments hold the seed's ids: ``epoch_id`` was updated
    after every epoch, so it counts the epochs run (1 after a run that stopped
    half-way through epoch 0). A record labelled with it would name an epoch that
    never started.
    """
    return max(loop_args.epoch_id - 1, 0)
