"""accelerate's per-step operations, with the answers that cannot change hoisted out.

On a single process accelerate's step-time calls mostly re-ask questions whose
answer was fixed when the run was prepared: ``AcceleratedOptimizer.step`` looks
the ``lomo_optim`` package up with ``importlib`` twice per call, ``zero_grad``
calls ``inspect.signature`` every time, ``clip_grad_norm_`` asks for the torch
version to decide whether DTensors may exist, and ``accumulate`` builds a
generator context and an ``ExitStack`` around nothing. On the 32->64->1 MLP of
``benchmarks/`` that tax makes a prepared loop about 1.5x a plain one.

:func:`fast_path` decides, once per accelerator, whether the run is one where each
of those calls provably reduces to its plain PyTorch core:

* one process (``DistributedType.NO``) or plain data parallelism (DDP:
  ``MULTI_CPU``, ``MULTI_GPU`` and the other ``MULTI_*`` devices), so no DeepSpeed,
  FSDP, XLA or Megatron, which change what backward, clipping and stepping do;
* no gradient scaler and no fp16/fp8 (``"no"`` or ``"bf16"``: ``unscale_gradients``
  is then a no-op);
* no LOMO optimizer, no DTensor parameters.

Then :class:`PlainPath` runs exactly what accelerate's methods run on that branch
(gradient-accumulation division and ``sync_gradients`` tests included), reading the
values that can change per step (``sync_gradients``, the accumulation steps) each
time; under DDP a step that does not synchronise gradients still runs in the
model's ``no_sync`` context, as ``accumulate`` runs it. Anything else gets
:class:`AcceleratePath`, which calls accelerate itself.
``tests/runtime/test_fastpath.py`` checks that both give bitwise-equal parameters
(``tests/runtime/test_distributed.py`` on two processes).
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable, Literal

import torch
from accelerate import Accelerator
from accelerate.optimizer import AcceleratedOptimizer
from accelerate.state import GradientState
from accelerate.utils import DistributedType, is_lomo_available

__all__ = ["AcceleratePath", "PlainPath", "accumulation_step", "fast_path", "optimizer_calls"]

_PATHS: "weakref.WeakKeyDictionary[Accelerator, AcceleratePath]" = weakref.WeakKeyDictionary()


class AcceleratePath:
    """The per-step operations through accelerate's own methods (always correct)."""

    plain = False

    def __init__(self, accelerator: Accelerator) -> None:
        self.accelerator = accelerator

    def sync(self, model: torch.nn.Module) -> Any:
        """The context to run one step in (``accelerator.accumulate(model)``)."""
        return self.accelerator.accumulate(model)

    def backward(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss)

    def clip_grad_norm_(self, params: list[torch.Tensor], max_norm: float, norm_type: float) -> torch.Tensor:
        return self.accelerator.clip_grad_norm_(params, max_norm, norm_type)

    def clip_grad_value_(self, params: list[torch.Tensor], clip_value: float) -> None:
        self.accelerator.clip_grad_value_(params, clip_value)


class _NoContext:
    """A reusable ``with`` target that does nothing (``accumulate``'s body on this path)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> Literal[False]:
        return False


_NO_CONTEXT = _NoContext()


class PlainPath(AcceleratePath):
    """accelerate's ``DistributedType.NO`` branches, without their per-call look-ups."""

    plain = True

    def __init__(self, accelerator: Accelerator) -> None:
        super().__init__(accelerator)
        self.gradient_state = accelerator.gradient_state
        self._do_sync = accumulation_step(accelerator)
        #: One process: ``accumulate`` is ``_do_sync()`` and a nullcontext, so the
        #: trainer may call :attr:`do_sync` alone (see :mod:`.step_program`).
        self.single = accelerator.distributed_type == DistributedType.NO

    @property
    def do_sync(self) -> Callable[[], None]:
        """accelerate's per-step accumulation bookkeeping (``sync_gradients``, its step counter)."""
        return self._do_sync

    def sync(self, model: torch.nn.Module) -> Any:
        # accumulate(model) for one model: _do_sync(), then the model's no_sync() on a
        # step that does not synchronise gradients (unless sync_each_batch asks to).
        self._do_sync()
        if self.single or self.gradient_state.sync_gradients:
            return _NO_CONTEXT
        if self.gradient_state.plugin_kwargs.get("sync_each_batch", False):
            return _NO_CONTEXT
        return self.accelerator.no_sync(model)

    def backward(self, loss: torch.Tensor) -> None:
        steps = self.gradient_state.num_steps
        if steps != 1:  # x / 1 is x, bit for bit; skipping it saves a tensor op
            loss = loss / steps
        loss.backward()

    # unscale_gradients() is a no-op without fp16; with no DTensor parameters (checked by
    # fast_path) the DTensor-aware clip is torch's: torch's own functions, no wrapper call.
    clip_grad_norm_ = staticmethod(torch.nn.utils.clip_grad_norm_)  # type: ignore[assignment]  # same call shape
    clip_grad_value_ = staticmethod(torch.nn.utils.clip_grad_value_)  # type: ignore[assignment]  # same call shape


#: What :func:`accumulation_step` restates, as each function's names and constants:
#: another accelerate whose versions differ in any of them gets its own ``_do_sync``.
_RESTATED = {
    "Accelerator._do_sync": (("gradient_state", "sync_with_dataloader", "end_of_dataloader", "step",
                              "_set_sync_gradients", "num_steps"), (0, True, 1, None)),
    "GradientState._set_sync_gradients": (("sync_gradients", "is_torch_xla_available", "PartialState",
                                           "distributed_type", "DistributedType", "XLA", "xm", "mark_step"),
                                          (True, ("check_is_tpu",), None)),
    "GradientState.end_of_dataloader": (("in_dataloader", "active_dataloader", "end_of_dataloader"), (False,)),
    "GradientState.active_dataloader": (("dataloader_references",), (-1,)),
    "GradientState.in_dataloader": (("active_dataloader",), (None,)),
    "GradientState.dataloader_references": (("_dataloader_references_ref",), ()),
    "GradientState.num_steps": (("plugin_kwargs", "get"), ("num_steps", 1)),
    "GradientState.sync_with_dataloader": (("plugin_kwargs", "get"), ("sync_with_dataloader", True)),
}


def _shape(fn: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A function's names and constants (its docstring and nested code left out): what its body reads."""
    code = fn.__code__
    consts = tuple(c for c in code.co_consts if c is not fn.__doc__ and not hasattr(c, "co_code"))
    return code.co_names, consts


def _function(name: str) -> Any:
    """``Accelerator._do_sync`` or a ``GradientState`` method or property, by its ``_RESTATED`` name."""
    owner, attr = name.split(".")
    found = {"Accelerator": Accelerator, "GradientState": GradientState}[owner].__dict__.get(attr)
    return found.fget if isinstance(found, property) else found


def _restatable(accelerator: Accelerator) -> bool:
    state = accelerator.gradient_state
    if type(accelerator)._do_sync is not Accelerator._do_sync or type(state) is not GradientState:
        return False
    if not isinstance(getattr(state, "_dataloader_references_ref", None), list):
        return False
    return all(hasattr(fn := _function(name), "__code__") and _shape(fn) == shape
               for name, shape in _RESTATED.items())


def accumulation_step(accelerator: Accelerator) -> Callable[[], None]:
    """``accelerator._do_sync``: the per-step bookkeeping ``accumulate`` starts with, at a third of its cost.

    accelerate's reads ``end_of_dataloader`` through four properties and a list
    of every loader's weak reference, and two more properties for the
    accumulation settings, about a hundred Python operations a step, a quarter
    of all hookpipe adds to one. This is its body on the plain path (no XLA, so
    ``_set_sync_gradients`` only stores the flag), reading the same fields
    directly, each step (a hook may change them). It is used only where
    accelerate's functions are the ones restated (:data:`_RESTATED`); anywhere
    else, and for subclasses, accelerate's own runs.
    """
    if not _restatable(accelerator):
        return accelerator._do_sync
    state = accelerator.gradient_state

    def do_sync() -> None:
        settings = state.plugin_kwargs
        ref = state._dataloader_references_ref[-1]
        loader = None if ref is None else ref()
        if loader is not None and loader.end_of_dataloader and settings.get("sync_with_dataloader", True):
            accelerator.step = 0
            state.sync_gradients = True
        else:
            accelerator.step = step = accelerator.step + 1
            state.sync_gradients = step % settings.get("num_steps", 1) == 0

    return do_sync


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
    if getattr(accelerator, "has_lomo_optimizer", False) or not hasattr(accelerator, "_do_sync"):
        return False
    return not any(_is_dtensor(p) for m in getattr(accelerator, "_models", ()) for p in m.parameters())


def _is_dtensor(t: torch.Tensor) -> bool:
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


def optimizer_calls(optimizer: Any, set_to_none: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    """``(step, zero_grad)`` for ``optimizer``, exactly as its own methods behave.

    For an :class:`AcceleratedOptimizer` (the class itself: DeepSpeed's and
    Megatron's wrappers override these) without a scaler, outside XLA, these are its
    ``sync_gradients`` test around the wrapped optimizer's ``step()`` and
    ``zero_grad(set_to_none=...)``, without the per-call ``importlib`` and
    ``inspect`` work. Other optimizers get their bound methods.
    """
    if type(optimizer) is AcceleratedOptimizer and _plain_optimizer(optimizer):
        inner = optimizer.optimizer
        state = optimizer.gradient_state

        def step() -> None:
            if state.sync_gradients:
                inner.step()  # looked up each call: LR schedulers re-wrap `step`

        def zero_grad() -> None:
            if state.sync_gradients:
                inner.zero_grad(set_to_none=set_to_none)

        return step, zero_grad

    def zero() -> None:
        optimizer.zero_grad(set_to_none=set_to_none)

    return optimizer.step, zero


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
