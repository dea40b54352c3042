"""Validation over a dataloader: sharded across processes, gathered, averaged exactly.

``validation(callback = mod.step, dataloader = mod.val_loader(...))``: the loader
is prepared by accelerate on first use (each process gets its share of the
batches, the last one padded to even length), the callback runs per batch as
``callback(model, batch)`` under ``torch.no_grad()`` and returns a mapping of
per-sample values (tensors with the batch as first dimension, e.g. a loss with
``reduction="none"`` or ``(pred == y).float()``), or one number per batch (``float(acc.mean())``),
counted once per sample of the batch. ``gather_for_metrics`` collects
them from every process and drops the padding, so each metric is the mean over the
data set exactly once: two processes report what one does (summed in float64, so
the order of the sum does not show). Evaluation runs inside ``fork_rng``: iterating
a loader draws from the global generator, and validation must not change what
training draws next.

A run that leaves the loader before its end (the sanity check's first batches, a
callback that raises) ends the iteration itself: accelerate's prepared loader
registers with the ``GradientState`` when it starts and unregisters only when it
runs out, and a validation loader left registered at its last batch says
``end_of_dataloader`` to a training loader accelerate did not prepare (a plain
iterable), so every training step would synchronise gradients and the
accumulation window would never hold more than one batch.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Protocol

import torch

from hookpipe.runtime.errors import HookpipeRuntimeError

__all__ = ["BatchHooks", "LoaderEvaluation", "ValidationResultError"]


class ValidationResultError(HookpipeRuntimeError, TypeError):
    """A validation callback returned something that is not metrics: a user mistake, one line, no traceback."""


class BatchHooks(Protocol):
    """What runs around each validation batch (a ``validation NAME { batch { } }`` block).

    ``batch_id`` is 0-based; ``last`` says it is the loader's last batch (this process's share).
    """

    def before_batch(self, batch_id: int, batch: Any, last: bool) -> None: ...

    def after_batch(self, batch_id: int, batch: Any, outputs: Mapping[str, Any], last: bool) -> None: ...


class LoaderEvaluation:
    """Run a per-batch callback over a validation loader and average its per-sample values."""

    def __init__(self, callback: Callable[[Any, Any], Mapping[str, Any]], dataloader: Any) -> None:
        self.callback = callback
        self.dataloader = dataloader
        self._prepared: Any = None
        self._accelerator: Any = None

    def _loader(self, accelerator: Any) -> Any:
        if self._accelerator is not accelerator:
            self._accelerator, self._prepared = accelerator, accelerator.prepare_data_loader(self.dataloader)
        return self._prepared

    def run(self, accelerator: Any, model: Any, hooks: BatchHooks | None = None,
            limit: int | None = None) -> dict[str, float]:
        """The metrics over the loader (its first ``limit`` batches, for the sanity check); ``hooks`` run
        around each batch (on this process's batches)."""
        sums: dict[str, torch.Tensor] = {}
        counts: dict[str, int] = {}
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            loader = self._loader(accelerator)
            total = len(loader) if hooks is not None and hasattr(loader, "__len__") else None
            batches = iter(loader)
            try:
                for batch_id, batch in enumerate(batches):
                    if limit is not None and batch_id >= limit:
                        break
                    last = total is not None and batch_id == total - 1
                    if hooks is not None:
                        hooks.before_batch(batch_id, batch, last)
                    values = self.callback(model, batch)
                    if not isinstance(values, Mapping):
                        raise ValidationResultError(
                            f"the validation callback {_name(self.callback)} returned {type(values).__name__}; with "
                            f"a dataloader it returns a mapping of metrics per batch, e.g. {{\"accuracy\": (pred == "
                            f"y).float()}}")
                    if hooks is not None:
                        hooks.after_batch(batch_id, batch, values, last)
                    size = _samples(batch)
                    per_sample = {str(k): _per_sample(k, v, size, self.callback) for k, v in values.items()}
                    gathered = accelerator.gather_for_metrics(per_sample)
                    for key, value in gathered.items():
                        value = value.detach().to(torch.float64).reshape(-1)
                        sums[key] = sums[key] + value.sum() if key in sums else value.sum()
                        counts[key] = counts.get(key, 0) + value.numel()
            finally:
                _leave(loader, batches)
        return {key: float(sums[key].cpu()) / counts[key] for key in sums if counts[key]}


def _leave(loader: Any, batches: Iterator[Any]) -> None:
    """End an iteration of ``loader``, also one left before its end (public calls only).

    Closing the iterator runs its cleanup (a generator's ``finally``); accelerate's
    prepared loaders (``DataLoaderShard``, ``DataLoaderDispatcher``) register with the
    ``GradientState`` in ``begin()`` and leave it in ``end()``, which their
    ``__iter__`` calls only when it runs out, so ``end()`` is called here. It removes
    the loader from the state whether or not it is still there.
    """
    close = getattr(batches, "close", None)
    if callable(close):
        close()
    end = getattr(loader, "end", None)
    if callable(end) and hasattr(loader, "gradient_state"):
        end()


def _per_sample(key: Any, value: Any, size: tuple[int, torch.device] | None, callback: Any) -> torch.Tensor:
    """A metric's values as one per sample; a number for the whole batch counts once per sample.

    A per-batch number (``float(acc.mean())``) is repeated for each of the batch's
    samples, so the mean over the data set weights every batch by its sample count:
    exact when the number is the batch's mean over its samples, and the padding of a
    sharded loader's last batch is dropped as for per-sample values.
    """
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        return value.detach()
    number = value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        if size is None:
            raise ValidationResultError(
                f"validation metric {key!r} from {_name(callback)} is one number per batch, and the batch holds no "
                f"tensor to count its samples by; return one value per sample (a tensor with the batch as first "
                f"dimension)")
        count, device = size
        return torch.full((count,), float(number), dtype=torch.float64, device=device)
    raise ValidationResultError(
        f"validation metric {key!r} from {_name(callback)}: return a number or one value per sample (a tensor with "
        f"the batch as first dimension), got {type(value).__name__}")


def _samples(batch: Any) -> tuple[int, torch.device] | None:
    """The batch's sample count (its first tensor's first dimension) and that tensor's device."""
    if isinstance(batch, torch.Tensor):
        return (int(batch.shape[0]), batch.device) if batch.dim() > 0 else None
    items = batch.values() if isinstance(batch, Mapping) else batch if isinstance(batch, (list, tuple)) else ()
    for item in items:
        found = _samples(item)
        if found is not None:
            return found
    return None


def _name(callback: Any) -> str:
    return getattr(callback, "__qualname__", None) or type(callback).__name__
