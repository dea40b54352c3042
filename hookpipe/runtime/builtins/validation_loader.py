"""Validation over a dataloader: sharded across processes, gathered, averaged exactly.

``validation(callback = mod.step, dataloader = mod.val_loader(...))``: the loader
is prepared by accelerate on first use (each process gets its share of the
batches, the last one padded to even length), the callback runs per batch as
``callback(model, batch)`` under ``torch.no_grad()`` and returns a mapping of
per-sample values (tensors with the batch as first dimension, e.g. a loss with
``reduction="none"`` or ``(pred == y).float()``). ``gather_for_metrics`` collects
them from every process and drops the padding, so each metric is the mean over the
data set exactly once: two processes report what one does (summed in float64, so
the order of the sum does not show). Evaluation runs inside ``fork_rng``: iterating
a loader draws from the global generator, and validation must not change what
training draws next.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol

import torch

__all__ = ["BatchHooks", "LoaderEvaluation"]


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

    def run(self, accelerator: Any, model: Any, hooks: BatchHooks | None = None) -> dict[str, float]:
        """The metrics over the whole loader; ``hooks`` run around each batch (on this process's batches)."""
        sums: dict[str, torch.Tensor] = {}
        counts: dict[str, int] = {}
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            loader = self._loader(accelerator)
            total = len(loader) if hooks is not None and hasattr(loader, "__len__") else None
            for batch_id, batch in enumerate(loader):
                last = total is not None and batch_id == total - 1
                if hooks is not None:
                    hooks.before_batch(batch_id, batch, last)
                values = self.callback(model, batch)
                if not isinstance(values, Mapping):
                    raise TypeError(f"a validation callback with a dataloader returns a mapping of per-sample "
                                    f"tensors, got {type(values).__name__}")
                if hooks is not None:
                    hooks.after_batch(batch_id, batch, values, last)
                per_sample = {str(k): _per_sample(k, v) for k, v in values.items()}
                gathered = accelerator.gather_for_metrics(per_sample)
                for key, value in gathered.items():
                    value = value.detach().to(torch.float64).reshape(-1)
                    sums[key] = sums[key] + value.sum() if key in sums else value.sum()
                    counts[key] = counts.get(key, 0) + value.numel()
        return {key: float(sums[key].cpu()) / counts[key] for key in sums if counts[key]}


def _per_sample(key: Any, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.dim() == 0:
        raise TypeError(f"validation metric {key!r}: return one value per sample (a tensor with the batch as first "
                        f"dimension, e.g. cross_entropy(..., reduction='none')), got {value!r:.60}")
    return value.detach()
