"""The "provides averaged weights" protocol: what ``ema_swap`` and ``validation(weights = NAME)`` need.

A hook that keeps averaged weights (the built-in ``ema`` and ``swa``, or any custom
hook) implements two methods; ``ema_swap(source = NAME)`` and
``validation(weights = NAME)`` then accept it by name. The protocol is structural:
no base class to inherit, a hook only needs the methods.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol, runtime_checkable

import torch

__all__ = ["AveragedWeights", "provider"]


@runtime_checkable
class AveragedWeights(Protocol):
    """A hook that provides averaged weights.

    ``swapped_in(model)`` is a context manager that puts the averaged weights into
    ``model`` (possibly wrapped by accelerate/DDP) for the block and restores the
    training weights after it, bit for bit, also when the block raises.
    ``averaged_state_dict()`` gives the averaged tensors by parameter name.
    """

    def swapped_in(self, model: Any) -> contextlib.AbstractContextManager[None]: ...

    def averaged_state_dict(self) -> dict[str, torch.Tensor]: ...


def provider(instances: dict[str, Any], name: str, who: str) -> AveragedWeights:
    """The hook named ``name`` as an averaged-weights provider; a clear error if it is not one."""
    hook = instances.get(name)
    if hook is None:
        raise RuntimeError(f"{who}: no hook named `{name}` in the pipeline")
    if not isinstance(hook, AveragedWeights):
        raise RuntimeError(f"{who}: `{name}` ({type(hook).__name__}) does not provide averaged weights: it needs "
                           "`swapped_in(model)` and `averaged_state_dict()` (docs/builtins.md, \"Averaged weights\")")
    return hook
