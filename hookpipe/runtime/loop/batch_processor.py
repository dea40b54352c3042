"""Batch processors: what runs inside the ``batch`` scope.

As in the seed, the processor owns forward and backward and opens the
``on_model_forward`` / ``on_model_backward`` channels itself; the trainer only opens
``on_step`` and ``on_batch``. Subclass :class:`SimpleBatchProcessor` and implement
``forward(model, batch) -> (outputs, loss)``, or wrap a function with
:meth:`SimpleBatchProcessor.from_callable`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Optional, Sequence

import torch
from accelerate import Accelerator

from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.errors import ForwardResultError
from hookpipe.runtime.fastpath import fast_path
from hookpipe.runtime.hooks.mixin import PipelineHooks

__all__ = [
    "BatchProcessorFromCallable", "BatchProcessorMixin", "LossNotProvidedError", "SimpleBatchProcessor",
    "forward_result_error", "is_identity",
]

ForwardFn = Callable[[Callable[..., Any], Any], "tuple[Any, Optional[torch.Tensor]]"]


class LossNotProvidedError(Exception):
    """``forward`` returned no loss although the processor must run backward."""


class BatchProcessorMixin(ABC):
    """The seed's batch processor interface."""

    @abstractmethod
    def __call__(self, pipeline_hooks: PipelineHooks, on_batch_hook_args: PipelineHookArgs, model: Callable) -> None:
        """Process ``on_batch_hook_args.batch``; set ``model_outputs`` and ``reduce_loss`` on it."""


def _identity(batch: Any) -> Any:
    return batch


def is_identity(transform: Callable[[Any], Any]) -> bool:
    """Whether ``transform`` is the processor's no-op (no ``transforms`` given): a step may skip it."""
    return transform is _identity


def _compose(transforms: Optional[Callable | Sequence[Callable]]) -> Callable[[Any], Any]:
    if transforms is None:
        return _identity
    fns = tuple(transforms) if isinstance(transforms, Sequence) else (transforms,)

    def apply(batch: Any) -> Any:
        for fn in fns:
            batch = fn(batch)
        return batch

    return apply


class SimpleBatchProcessor(BatchProcessorMixin):
    """Transform, forward (in ``on_model_forward``), backward (in ``on_model_backward``).

    Args:
        need_backward: Whether to back-propagate the loss ``forward`` returns.
        transforms: A callable or sequence of callables applied to each batch first.
        average_loss: Whether ``reduce_loss`` is the loss averaged over processes (the
            seed's behaviour: one all-reduce per step when there are several). False
            keeps each process's own loss and the per-step collective away; ``log()``
            and ``loss_log`` average over processes themselves. Also an attribute, read
            when training starts.
    """

    def __init__(self, need_backward: bool = True, transforms: Optional[Callable | Sequence[Callable]] = None,
                 average_loss: bool = True) -> None:
        self.need_backward = need_backward
        self.transform = _compose(transforms)
        self.average_loss = average_loss
        self.accelerator: Optional[Accelerator] = None
        self._is_prepared = False
        self._backward: Callable[[torch.Tensor], None] | None = None  # set by initialize
        self._average_loss = False

    @staticmethod
    def from_callable(
        forward_fn: ForwardFn,
        need_backward: bool = True,
        transforms: Optional[Callable | Sequence[Callable]] = None,
    ) -> "BatchProcessorFromCallable":
        """A processor whose ``forward`` is ``forward_fn(model, batch)``.

        Example:
            >>> proc = SimpleBatchProcessor.from_callable(lambda m, b: (m(b[0]), m(b[0]).sum()))
        """
        return BatchProcessorFromCallable(forward_fn, need_backward=need_backward, transforms=transforms)

    def initialize(self, accelerator: Accelerator) -> None:
        """Prepare for ``accelerator`` (once; ``__call__`` does it on the first batch, the fused step before it)."""
        # Modules held by the processor (e.g. a loss with weights) go through prepare once.
        if self._is_prepared:
            return
        for key, obj in list(vars(self).items()):
            if isinstance(obj, torch.nn.Module):
                setattr(self, key, accelerator.prepare(obj))
        self.accelerator = accelerator
        self._backward = fast_path(accelerator).backward
        # The seed logs the mean over processes (a collective), back-propagating its own loss.
        self._average_loss = self.average_loss and accelerator.num_processes > 1
        self._is_prepared = True

    @property
    def backward(self) -> Callable[[torch.Tensor], None]:
        """The backward this processor runs once initialised (``accelerator.backward``, see fastpath)."""
        if self._backward is None:
            raise RuntimeError("initialize(accelerator) first: the backward depends on the accelerator")
        return self._backward

    @property
    def averages_loss(self) -> bool:
        """Whether ``reduce_loss`` is the mean over processes (``average_loss`` with several processes)."""
        return self._average_loss

    @abstractmethod
    def forward(self, model: Callable, batch: Any) -> tuple[Any, Optional[torch.Tensor]]:
        """Run the model on ``batch``; return ``(outputs, loss or None)``."""

    def __call__(self, pipeline_hooks: PipelineHooks, on_batch_hook_args: PipelineHookArgs, model: Callable) -> None:
        self.initialize(on_batch_hook_args.accelerator)
        batch = self.transform(on_batch_hook_args.batch)
        with pipeline_hooks.begin("on_model_forward", on_batch_hook_args.copy_with_updates(batch=batch)) as fwd:
            result = self.forward(model, batch)
            try:
                outputs, loss = result
            except (TypeError, ValueError):
                raise forward_result_error(self, result) from None
            fwd.model_outputs = outputs
            reduce_loss = loss
            if loss is not None and self._average_loss:
                reduce_loss = self.accelerator.reduce(loss, reduction="mean")  # type: ignore[union-attr]
            fwd.reduce_loss = reduce_loss
        if self.need_backward:
            if loss is None:
                raise LossNotProvidedError("forward returned no loss but need_backward is True")
            with pipeline_hooks.begin(
                "on_model_backward",
                on_batch_hook_args.copy_with_updates(batch=batch, model_outputs=outputs, reduce_loss=reduce_loss),
            ):
                self._backward(loss)  # type: ignore[misc]  # accelerator.backward, without its per-step tax (see fastpath)
        on_batch_hook_args.model_outputs = outputs
        on_batch_hook_args.reduce_loss = reduce_loss


def forward_result_error(processor: SimpleBatchProcessor, result: Any) -> ForwardResultError:
    """What to say when ``processor.forward`` returned ``result``, which does not unpack into ``(outputs, loss)``."""
    method = getattr(type(processor).forward, "__qualname__", f"{type(processor).__name__}.forward")
    what = f"a tuple of {len(result)}" if isinstance(result, tuple) else (
        f"a {type(result).__module__}.{type(result).__qualname__}" if result is not None else "None")
    return ForwardResultError(
        f"{method} returned {what}; a SimpleBatchProcessor's forward returns (outputs, loss), e.g. "
        "`return outputs, loss` (the loss may be None when need_backward is False)")


class BatchProcessorFromCallable(SimpleBatchProcessor):
    """A :class:`SimpleBatchProcessor` whose forward is a plain function."""

    def __init__(
        self,
        forward_fn: ForwardFn,
        need_backward: bool = True,
        transforms: Optional[Callable | Sequence[Callable]] = None,
    ) -> None:
        super().__init__(need_backward=need_backward, transforms=transforms)
        self._forward_fn = forward_fn

    def forward(self, model: Callable, batch: Any) -> tuple[Any, Optional[torch.Tensor]]:
        return self._forward_fn(model, batch)
