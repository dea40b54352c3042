"""``--check-effects``: declared effects are verified, not trusted.

The compiler orders hooks by the effects they declare, so a hook that writes what
it only claims to read breaks the checked order silently (a gradient-norm logger
that clips is the classic). With checking on, every callback is wrapped: the
resources it could touch are fingerprinted before and after the call, and a
change to a resource the hook does not declare as ``writes`` or ``consumes``
stops the run at once, naming the hook, the resource and the ``.pipe`` line.

Fingerprints are cheap and exact for in-place tensor writes: PyTorch bumps a
tensor's version counter on every in-place operation, so a parameter, gradient or
optimizer-state tensor written in place (``clip_grad_norm_``, ``optimizer.step``)
changes its version; a gradient replaced or set to None changes its identity. The
learning rates are compared by value (with the scheduler's step count). Writes that
bypass autograd's bookkeeping (``tensor.data.copy_``) are not seen. Off by default:
the overhead is a walk over the parameters and the optimizer state per fired call.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from hookpipe.compiler.plan import HookSpec, PlanEntry
from hookpipe.runtime.dispatch.channels import Counters
from hookpipe.runtime.errors import RunFailure

__all__ = ["EffectChecker", "UndeclaredEffect"]

CHECKED = ("params", "grads", "optimizer_state", "lr")


class UndeclaredEffect(RunFailure):
    """A callback changed a resource its hook does not declare as written or consumed."""

    def __init__(self, hook: str, callback: str, resource: str, declared: str, *, global_step: int, span: Any,
                 steps: int | None = None) -> None:
        super().__init__(
            f"hook '{hook}' wrote `{resource}` in {callback} but declares {declared}; "
            f"declare `writes {resource}` (and re-check the order) or stop writing it",
            global_step=global_step,
            span=span,
            steps=steps,
            in_step=not callback.startswith(("on_epoch_", "on_loop_")),
        )
        self.hook = hook
        self.callback = callback
        self.resource = resource


def _tensor_print(t: torch.Tensor | None) -> tuple[int, int, int] | None:
    if t is None:
        return None
    return (id(t), t._version, t.data_ptr())


class EffectChecker:
    """Fingerprints the trainer's resources and wraps callbacks to compare them."""

    def __init__(self, model: torch.nn.Module, optimizer: Any, lr_scheduler: Any) -> None:
        self.params = [p for p in model.parameters()]
        self.optimizer = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper shares the state
        self.scheduler = getattr(lr_scheduler, "scheduler", lr_scheduler)
        self._probes: dict[str, Callable[[], Any]] = {
            "params": lambda: [_tensor_print(p) for p in self.params],
            "grads": lambda: [_tensor_print(p.grad) for p in self.params],
            "optimizer_state": self._optimizer_state,
            "lr": self._lr,
        }

    def _optimizer_state(self) -> Any:
        out = []
        for param, state in self.optimizer.state.items():
            for key, value in state.items():
                out.append((id(param), key, _tensor_print(value) if isinstance(value, torch.Tensor) else value))
        return out

    def _lr(self) -> Any:
        groups = tuple(g.get("lr") for g in self.optimizer.param_groups)
        return groups, getattr(self.scheduler, "last_epoch", None)

    def fingerprint(self, resources: tuple[str, ...]) -> list[Any]:
        return [self._probes[r]() for r in resources]

    def wrap(self, fn: Callable[[Any], Any], counters: Counters, scope: str, phase: str, spec: HookSpec,
             entry: PlanEntry) -> Callable[[Any], Any]:
        """A :data:`~hookpipe.runtime.plan.plan_hooks.Wrapper` checking ``spec``'s declared effects."""
        allowed = set(spec.effects.writes) | set(spec.effects.consumes)
        own = getattr(getattr(fn, "__self__", None), "effects", None)  # a class attribute counts too
        if isinstance(own, dict):
            allowed |= set(own.get("writes", ())) | set(own.get("consumes", ()))
        watched = tuple(r for r in CHECKED if r not in allowed)
        if not watched:
            return fn
        declared = _describe(spec)

        def checked(arg: Any) -> Any:
            before = self.fingerprint(watched)
            result = fn(arg)
            after = self.fingerprint(watched)
            for resource, old, new in zip(watched, before, after):
                if old != new:
                    raise UndeclaredEffect(entry.hook, entry.callback, resource, declared,
                                           global_step=counters.global_step, span=entry.span, steps=counters.step)
            return result

        return checked


def _describe(spec: HookSpec) -> str:
    e = spec.effects
    parts = [f"{kind} {', '.join(names)}" for kind, names in (("reads", e.reads), ("writes", e.writes),
                                                             ("consumes", e.consumes)) if names]
    return "only " + "; ".join(parts) if parts else "no effects"
