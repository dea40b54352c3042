"""``ema(decay = 0.999)``: an exponential moving average of the parameters.

Attached in ``step.after``; its effects (``reads params, writes ema``) put it after
the optimizer, and ``validation(weights = "ema")`` (which reads ``ema``) after it.
It updates on steps that make an optimizer update (under gradient accumulation
the parameters do not change on the others), with one fused
``torch._foreach_lerp_``: ``shadow += (1 - d) * (param - shadow)``. With
``warmup`` (the default) the decay of the n-th update is
``min(decay, (1 + n) / (10 + n))``, so early averages are not dominated by the
random initial weights (as TensorFlow's ``ExponentialMovingAverage`` with
``num_updates``). ``momentum = "exp"`` / ``"linear"`` take MMEngine's ramps
instead (``ExpMomentumEMA`` as YOLOX uses it, ``MomentumAnnealingEMA``), written
in MMEngine's terms: the update weight ``m = 1 - decay`` once ramped, and the n-th
update (n counted from 0, the first update only starts the average, as MMEngine's
``steps == 0``) uses ``(1 - m) * exp(-(1 + n) / gamma) + m`` or
``max(m, gamma / (gamma + n))``. With ``buffers = true`` the floating-point
buffers (batch-norm statistics) are averaged too and swapped in with the
parameters (MMEngine's ``update_buffers``); by default they are not, and
evaluation uses the live ones.

The hook provides averaged weights (the protocol in
``hookpipe.runtime.builtins.averaged``), so ``ema_swap`` and
``validation(weights = ...)`` can name it.

Every process keeps its own copy; with DDP the parameters, hence the averages,
are equal on every rank, and the checkpoint stores them once (bitwise; see the
hook-state format in ``docs/reliability.md``).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Literal

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
        warmup: Ramp the decay up over the first updates (None: on unless ``momentum`` is set).
        buffers: Average floating-point buffers too.
        momentum: MMEngine's ramp of the update weight, ``"exp"`` or ``"linear"``.
        gamma: The ramp's length for ``momentum``.
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["ema"].effects.to_json()

    def __init__(self, decay: float = 0.999, warmup: bool | None = None, buffers: bool = False,
                 momentum: Literal["exp", "linear"] | None = None, gamma: int = 2000) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError("decay must be between 0 and 1")
        if momentum not in (None, "exp", "linear"):
            raise ValueError('momentum must be "exp", "linear" or none')
        if warmup and momentum is not None:
            raise ValueError("warmup and momentum are two ramps of the decay: choose one")
        self.decay = decay
        self.warmup = momentum is None if warmup is None else warmup
        self.buffers = buffers
        self.momentum = momentum
        self.gamma = gamma
        #: Optimizer updates averaged so far.
        self.updates = 0
        self._names: list[str] = []
        self._shadow: list[torch.Tensor] = []
        self._params: list[torch.Tensor] = []
        self._model: torch.nn.Module | None = None

    def _bind(self, model: torch.nn.Module) -> None:
        if model is self._model:
            return
        named: list[tuple[str, torch.Tensor]] = [(n, p) for n, p in model.named_parameters() if p.is_floating_point()]
        if self.buffers:
            named += [(n, b) for n, b in model.named_buffers() if b.is_floating_point()]
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
        n = self.updates
        if self.momentum == "exp":
            m = 1.0 - self.decay
            return 1.0 - ((1.0 - m) * math.exp(-(1 + n) / self.gamma) + m)
        if self.momentum == "linear":
            return 1.0 - max(1.0 - self.decay, self.gamma / (self.gamma + n))
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + n) / (10 + n))

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
