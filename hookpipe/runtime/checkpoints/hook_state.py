"""Hook state with tensors: JSON for the structure, safetensors for the tensors.

A hook's ``state_dict()`` may hold tensors anywhere inside dicts and lists (an
EMA's shadow parameters, a metric's running sums) next to plain JSON values.
The checkpoint stores the structure in the rank's ``hookpipe-state-<rank>.json``
with each tensor replaced by ``{"$tensor": KEY}``, and the tensors themselves,
bit for bit (dtype, shape, bytes), in safetensors:

* ``hookpipe-hooks.safetensors``, written by the main process, when every rank's
  tensors are identical (the usual case: DDP keeps parameters equal), so a
  two-process checkpoint does not hold two copies of the same shadow weights;
* ``hookpipe-hooks-<rank>.safetensors`` on each rank whose tensors differ from
  the main process's.

Deciding that takes one exchange of digests between the processes, which is
fine where it runs: inside a checkpoint, which every process enters. Loading
reads safetensors and JSON only, never pickles. Restored tensors are on the CPU;
``load_state_dict`` moves them where the hook keeps them (as torch's own do).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from hookpipe.runtime.errors import PlanResolveError

__all__ = ["SHARED_FILE", "join_tensors", "load_hook_tensors", "save_hook_tensors", "split_tensors"]

SHARED_FILE = "hookpipe-hooks.safetensors"
_TENSOR = "$tensor"


def rank_file(rank: int) -> str:
    return f"hookpipe-hooks-{rank}.safetensors"


def split_tensors(value: Any, prefix: str, out: dict[str, torch.Tensor]) -> Any:
    """``value`` with its tensors moved into ``out`` (keyed by their path) and JSON left.

    Raises:
        PlanResolveError: a value that is neither JSON nor a tensor, named by path.

    Example:
        >>> tensors = {}
        >>> split_tensors({"n": 1, "w": [torch.zeros(2)]}, "ema", tensors)
        {'n': 1, 'w': [{'$tensor': 'ema.w.0'}]}
    """
    if isinstance(value, torch.Tensor):
        out[prefix] = value.detach().to("cpu", copy=True).contiguous()
        return {_TENSOR: prefix}
    if isinstance(value, dict):
        skeleton = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise PlanResolveError(f"hook state {prefix}: keys must be strings to be checkpointed (got {key!r})")
            skeleton[key] = split_tensors(item, f"{prefix}.{key}", out)
        return skeleton
    if isinstance(value, (list, tuple)):
        return [split_tensors(item, f"{prefix}.{i}", out) for i, item in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise PlanResolveError(
        f"hook state {prefix}: {type(value).__name__} cannot be checkpointed; "
        "state_dict() may hold JSON values (numbers, strings, lists, dicts) and tensors"
    )


def join_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of :func:`split_tensors` (lists stay lists)."""
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            try:
                return tensors[value[_TENSOR]]
            except KeyError:
                raise PlanResolveError(f"checkpoint is missing the hook tensor {value[_TENSOR]!r}") from None
        return {k: join_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [join_tensors(v, tensors) for v in value]
    return value


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key]
        h.update(json.dumps([key, str(t.dtype), list(t.shape)]).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_hook_tensors(folder: Path, rank: int, tensors: dict[str, torch.Tensor], num_processes: int) -> str | None:
    """Write this rank's hook tensors, sharing the main process's file where equal.

    Every process must call it (it exchanges digests when there are several).
    Returns the file name the rank's tensors are in (None when there are none).
    """
    from safetensors.torch import save_file

    same_as_main = rank == 0
    if num_processes > 1:
        import torch.distributed as dist

        digests: list[Any] = [None] * num_processes
        dist.all_gather_object(digests, _digest(tensors))
        same_as_main = digests[rank] == digests[0]
    if not tensors:
        return None
    name = SHARED_FILE if same_as_main else rank_file(rank)
    if rank == 0 or not same_as_main:
        save_file(tensors, str(folder / name))
    return name


def load_hook_tensors(folder: Path, name: str | None) -> dict[str, torch.Tensor]:
    """The tensors a rank's state names (``name`` from its JSON state)."""
    if name is None:
        return {}
    if name not in (SHARED_FILE,) and not (name.startswith("hookpipe-hooks-") and name.endswith(".safetensors")):
        raise PlanResolveError(f"{folder}: unexpected hook tensor file {name!r}")
    path = folder / name
    if not path.is_file():
        raise PlanResolveError(f"{folder}: checkpoint is missing {name}")
    from safetensors.torch import load_file

    return load_file(str(path))
