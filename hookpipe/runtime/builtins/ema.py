"""``ema(decay = 0.999)``: an exponential moving average of the parameters.

Attached in ``step.after``; its effects (``reads params, writes ema``) put it after
the optimizer, and ``validation(weights = "ema")`` (which reads ``ema``) after it.
It updates on steps that make an optimizer update (under gradient accumulation
the parameters do not change on the others), with one fused
``torch._foreach_lerp_``: ``shadow += (1 - d) * (param - shadow)``. With
``warmup`` (the default) the decay of the n-th update is
``min(decay, (1 + n) / (10 + n))``, so early averages are not dominated by the
random initial weights (as TensorFlow's ``ExponentialMovingAverage`` with
``num_updates``). Buffers (batch-norm statistics) are not averaged: evaluation
uses the live ones.

Every process keeps its own copy; with DDP the parameters, hence the averages,
are equal on every rank, and the checkpoint stores them once (bitwise; see the
hook-state format in ``docs/reliability.md``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs

__all__ = ["EmaHook"]


def _unwrap(args: PipelineHookArgs) -> torch.nn.Module:
    model = args.model
    if model is None:
        raise ValueError("ema needs the model in the hook arguments")
    return args.accelerator.unwrap_model(model)


class EmaHook:
    """Keep an exponential moving average of the model's floating-point parameters.

    Args:
        decay: The average's decay per optimizer update (0 < decay < 1).
        warmup: Ramp the decay up over the first updates.
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["ema"].effects.to_json()

    def __init__(self, decay: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError("decay must be between 0 and 1")
        self.decay = decay
        self.warmup = warmup
        #: Optimizer updates averaged so far.
        self.updates = 0
        self._names: list[str] = []
        self._shadow: list[torch.Tensor] = []
        self._params: list[torch.Tensor] = []
        self._model: torch.nn.Module | None = None

    def _bind(self, model: torch.nn.Module) -> None:
        if model is self._model:
            return
        named = [(n, p) for n, p in model.named_parameters() if p.is_floating_point()]
        if self._shadow and [n for n, _ in named] != self._names:
            raise RuntimeError("ema: the model's parameters changed since the average was started")
        self._model = model
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        if not self._shadow:
            self._shadow = [p.detach().clone() for p in self._params]
        else:  # restored from a checkpoint (on the CPU): where the parameters live
            self._shadow = [s.to(device=p.device, dtype=p.dtype) for s, p in zip(self._shadow, self._params)]

    def current_decay(self) -> float:
        """The decay the next update uses."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if not args.accelerator.sync_gradients:
            return
        self._bind(_unwrap(args))
        weight = 1.0 - self.current_decay()
        with torch.no_grad():
            torch._foreach_lerp_(self._shadow, [p.detach() for p in self._params], weight)
        self.updates += 1

    @contextlib.contextmanager
    def swapped_in(self, model: Any) -> Iterator[None]:
        """The average's weights in the model for the block; the training weights back after, bit for bit.

        Before the first update the average equals the current weights.
        """
        from accelerate.utils import extract_model_from_parallel

        self._bind(extract_model_from_parallel(model))
        saved = [p.detach().clone() for p in self._params]
        try:
            with torch.no_grad():
                torch._foreach_copy_([p.data for p in self._params], self._shadow)
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([p.data for p in self._params], saved)

    def averaged_state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged parameters by name (e.g. to save a model of the EMA weights)."""
        return dict(zip(self._names, self._shadow))

    def state_dict(self) -> dict[str, Any]:
        """The averages as tensors (checkpointed bitwise with safetensors), the update count, the names."""
        return {"updates": self.updates, "names": list(self._names), "shadow": list(self._shadow)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self._names = [str(n) for n in state["names"]]
        self._shadow = [t.clone() for t in state["shadow"]]
        self._model = None  # re-bound (and moved to the parameters' device) on next use
