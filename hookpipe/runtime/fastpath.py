"""accelerate's per-step operations, with the answers that cannot change hoisted out.

On a single process accelerate's step-time calls mostly re-ask questions whose
answer was fixed when the run was prepared: ``AcceleratedOptimizer.step`` looks
the ``lomo_optim`` package up with ``importlib`` twice per call, ``zero_grad``
calls ``inspect.signature`` every time, ``clip_grad_norm_`` asks for the torch
version to decide whether DTensors may exist. On the 32->64->1 MLP of
``benchmarks/`` that tax makes a prepared loop about 1.5x a plain one.

:func:`fast_path` decides, once per accelerator and from accelerate's public facts
only, whether the run is one where backward and clipping are plain PyTorch:

* one process (``DistributedType.NO``) or plain data parallelism (DDP:
  ``MULTI_CPU``, ``MULTI_GPU`` and the other ``MULTI_*`` devices), so no DeepSpeed,
  FSDP, XLA or Megatron, which change what backward, clipping and stepping do;
* no gradient scaler and no fp16/fp8 (``"no"`` or ``"bf16"``: ``unscale_gradients``
  is then a no-op);
* no LOMO optimizer (and, for clipping, no DTensor parameters: the clip checks the
  parameters it is given).

Then :class:`PlainPath` runs PyTorch's ``loss.backward()`` on the loss divided by
the public ``gradient_state.num_steps`` (read each step: a hook may change it) and
torch's clipping functions. Anything else gets :class:`AcceleratePath`, which calls
accelerate itself. Each step runs inside ``accelerator.accumulate(model)`` on both
paths, except on the plain path, where :func:`accumulation_step` does what its
``accumulate`` does before the step, from ``GradientState``'s public fields
(``accumulate`` itself costs about 10 µs a step here, 30 µs on a step that does not
synchronise: more than a small model's whole step on a GPU).
``tests/runtime/test_fastpath.py`` checks that both give bitwise-equal parameters
(``tests/runtime/test_distributed.py`` on two processes).

The per-step reads go to the public fields ``GradientState``'s properties are
made of (``plugin_kwargs``, ``dataloader_references``), with the properties'
own defaults: ``end_of_dataloader`` alone is five Python calls that build two
lists, and on a step whose arithmetic is a few hundred microseconds every
function a step runs beyond the hand-written loop's shows in its time (cold
code and data, not just instructions).
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from typing import Any, Callable

import torch
from accelerate import Accelerator
from accelerate.optimizer import AcceleratedOptimizer
from accelerate.state import GradientState
from accelerate.utils import DistributedType, is_lomo_available

__all__ = ["AcceleratePath", "PlainPath", "accumulation_step", "accumulation_steps", "fast_path",
           "groups_owner", "install_plain_backward", "is_dtensor", "plain_optimizer"]

_PATHS: "weakref.WeakKeyDictionary[Accelerator, AcceleratePath]" = weakref.WeakKeyDictionary()


class AcceleratePath:
    """The per-step operations through accelerate's own methods (always correct)."""

    plain = False

    def __init__(self, accelerator: Accelerator) -> None:
        self.accelerator = accelerator

    def sync(self, model: torch.nn.Module) -> Any:
        """The context to run one step in: ``accelerator.accumulate(model)``."""
        return self.accelerator.accumulate(model)

    def backward(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss)

    def clip_grad_norm_(self, params: list[torch.Tensor], max_norm: float, norm_type: float) -> torch.Tensor:
        return self.accelerator.clip_grad_norm_(params, max_norm, norm_type)

    def clip_grad_value_(self, params: list[torch.Tensor], clip_value: float) -> None:
        self.accelerator.clip_grad_value_(params, clip_value)


class PlainPath(AcceleratePath):
    """accelerate's backward and clipping where they are PyTorch's own (see :func:`fast_path`)."""

    plain = True

    def __init__(self, accelerator: Accelerator) -> None:
        super().__init__(accelerator)
        self.gradient_state = accelerator.gradient_state
        #: accelerate's per-step accumulation bookkeeping (see :func:`accumulation_step`).
        self.accumulation_step = accumulation_step(accelerator)

    def sync(self, model: torch.nn.Module) -> Any:
        """``accelerator.accumulate(model)`` for one model: the bookkeeping, then the context to run the step in.

        On one process that context is nothing; with several, a step that does not
        synchronise gradients runs in the model's public ``accelerator.no_sync``.
        """
        self.accumulation_step()
        if self.gradient_state.sync_gradients or self.accelerator.num_processes == 1:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(model)

    def backward(self, loss: torch.Tensor) -> None:
        steps = accumulation_steps(self.gradient_state)
        if steps != 1:  # x / 1 is x, bit for bit; skipping it saves a tensor op
            loss = loss / steps
        loss.backward()

    # unscale_gradients() is a no-op without fp16; without DTensor parameters (the clip
    # checks) the DTensor-aware clip is torch's: torch's own functions, no wrapper call.
    clip_grad_norm_ = staticmethod(torch.nn.utils.clip_grad_norm_)  # type: ignore[assignment]  # same call shape
    clip_grad_value_ = staticmethod(torch.nn.utils.clip_grad_value_)  # type: ignore[assignment]  # same call shape


def accumulation_step(accelerator: Accelerator) -> Callable[[], None]:
    """What ``accelerator.accumulate`` decides before a step, from ``GradientState``'s public fields.

    accelerate's documented rule: a step synchronises gradients every
    ``gradient_accumulation_steps`` steps and at the end of the dataloader (with
    ``sync_with_dataloader``, the default); ``accelerator.step`` counts the steps
    since the last synchronising one (``save_state`` stores it). The result is
    ``gradient_state.sync_gradients``, the flag ``AcceleratedOptimizer``, the
    scheduler and ``accelerator.sync_gradients`` read. Only for the plain path:
    with XLA accelerate also marks a step there. The settings are read each step (a
    hook may change them). ``tests/runtime/test_fastpath.py`` checks it against
    ``accelerator.accumulate`` over epochs, so a release of accelerate with another
    rule fails a test instead of training differently.
    """
    state = accelerator.gradient_state

    def step() -> None:
        # GradientState's properties, read from the fields they are made of (see accumulation_steps):
        # sync_with_dataloader, then end_of_dataloader (the active loader: the last registered).
        settings = state.plugin_kwargs
        if settings.get("sync_with_dataloader", True) and (active := state.dataloader_references[-1]) is not None \
                and active.end_of_dataloader:
            accelerator.step = 0
            state.sync_gradients = True
        else:
            accelerator.step = count = accelerator.step + 1
            state.sync_gradients = count % settings.get("num_steps", 1) == 0

    return step


def accumulation_steps(state: GradientState) -> int:
    """``state.num_steps`` (``accelerator.gradient_accumulation_steps``), without the property call.

    The property is ``plugin_kwargs.get("num_steps", 1)``; the accelerator's setter
    updates that dict, so reading it each step sees a hook's change.
    """
    steps: int = state.plugin_kwargs.get("num_steps", 1)
    return steps


#: Where accelerate's backward, clip and optimizer step are torch's own (single process or DDP).
_PLAIN_TYPES = frozenset(
    t for t in DistributedType
    if t not in (DistributedType.DEEPSPEED, DistributedType.FSDP, DistributedType.XLA, DistributedType.MEGATRON_LM)
)


def _plain_ok(accelerator: Accelerator) -> bool:
    if accelerator.distributed_type not in _PLAIN_TYPES or accelerator.scaler is not None:
        return False
    if str(accelerator.mixed_precision) not in ("no", "bf16"):
        return False
    if type(accelerator).accumulate is not Accelerator.accumulate:
        return False  # a subclass's own accumulation: run it
    if accelerator.gradient_state.plugin_kwargs.get("sync_each_batch", False):
        return False  # accumulate() then never enters no_sync: its own path
    return not getattr(accelerator, "has_lomo_optimizer", False)


def is_dtensor(t: torch.Tensor) -> bool:
    """Whether ``t`` is a DTensor (whose clipping needs accelerate's DTensor-aware clip)."""
    # By name: importing torch.distributed.tensor just to ask would cost start-up time.
    return any(c.__name__ == "DTensor" for c in type(t).__mro__)


def fast_path(accelerator: Accelerator) -> AcceleratePath:
    """The per-step operations for ``accelerator``: plain where provably equal, else accelerate's.

    Decided once per accelerator (the conditions are fixed by ``Accelerator()`` and
    ``prepare``) and cached.

    Example:
        >>> path = fast_path(Accelerator(cpu=True))  # doctest: +SKIP
        >>> path.plain  # doctest: +SKIP
        True
    """
    path = _PATHS.get(accelerator)
    if path is None:
        path = PlainPath(accelerator) if _plain_ok(accelerator) else AcceleratePath(accelerator)
        _PATHS[accelerator] = path
    return path


def install_plain_backward(accelerator: Accelerator) -> Callable[[], None]:
    """For one run: ``accelerator.backward`` is :class:`PlainPath`'s where that is exact; returns the undo.

    The seed's batch processors (a ``BatchProcessorMixin`` implementing
    ``__call__``) call ``accelerator.backward`` themselves. Where :func:`fast_path`
    decides from public facts that accelerate's backward is PyTorch's (no
    DeepSpeed/FSDP/XLA/Megatron, no scaler, no fp16/fp8, no LOMO), an instance
    attribute ``backward`` shadows the method for the run: the loss divided by the
    accumulation steps (skipped when 1, bit for bit the same), then
    ``loss.backward(**kwargs)``. Nothing is installed for an ``Accelerator``
    subclass with its own ``backward``, or one whose instance already has one.
    """
    path = fast_path(accelerator)
    if not isinstance(path, PlainPath) or type(accelerator).backward is not Accelerator.backward \
            or "backward" in vars(accelerator):
        return lambda: None
    original = accelerator.backward
    state = path.gradient_state

    def backward(loss: torch.Tensor, **kwargs: Any) -> None:
        if "learning_rate" in kwargs:  # LOMO's argument: accelerate's own path
            original(loss, **kwargs)
            return
        steps = state.plugin_kwargs.get("num_steps", 1)  # accumulation_steps(state), written out
        if steps != 1:
            loss = loss / steps
        loss.backward(**kwargs)

    accelerator.backward = backward  # an instance attribute, removed by the undo

    def undo() -> None:
        if vars(accelerator).get("backward") is backward:
            del accelerator.backward

    return undo


def plain_optimizer(optimizer: Any) -> torch.optim.Optimizer | None:
    """The optimizer ``optimizer`` wraps, where its ``step``/``zero_grad`` are the wrapped one's; else None.

    For an :class:`AcceleratedOptimizer` (the class itself: DeepSpeed's and
    Megatron's wrappers override these) without a scaler, outside XLA and not
    LOMO, ``step()`` is ``inner.step()`` and ``zero_grad(set_to_none=s)`` is
    ``inner.zero_grad(set_to_none=s)``, each only when
    ``optimizer.gradient_state.sync_gradients`` (read at each call); its own
    methods also look ``lomo_optim`` up with ``importlib`` and call
    ``inspect.signature`` every time. Look ``inner.step`` up at each call: LR
    schedulers re-wrap it. None: call the optimizer's own methods.
    """
    if type(optimizer) is AcceleratedOptimizer and _plain_optimizer(optimizer):
        inner: torch.optim.Optimizer = optimizer.optimizer
        return inner
    return None


def groups_owner(optimizer: Any) -> Any:
    """The object whose ``param_groups`` attribute is ``optimizer.param_groups``.

    ``AcceleratedOptimizer.param_groups`` is a property returning the wrapped
    optimizer's list (the class itself; a subclass may define its own), so a
    caller reading the groups every step reads that attribute instead.
    """
    return optimizer.optimizer if type(optimizer) is AcceleratedOptimizer else optimizer


def _plain_optimizer(optimizer: AcceleratedOptimizer) -> bool:
    if optimizer.scaler is not None or optimizer.accelerator_state.distributed_type == DistributedType.XLA:
        return False
    inner = optimizer.optimizer
    if is_lomo_available():
        from lomo_optim import AdaLomo, Lomo  # type: ignore[import-not-found]  # optional, absent here

        if isinstance(inner, (Lomo, AdaLomo)):
            return False
    try:
        return "set_to_none" in inspect.signature(inner.zero_grad).parameters
    except (TypeError, ValueError):
        return False
