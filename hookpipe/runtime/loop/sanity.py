"""The sanity validation: every validation hook runs on a few batches before the first step.

A misspelt monitor (``early_stop(monitor = "evaluate.acc")`` where the callback
returns ``accuracy``) passes the compiler, which cannot know what a Python callback
returns, and would otherwise fail at the first real validation, an epoch into the
job. So before the first training step (``trainer { sanity_val_batches = 2 }``, the
default; 0 turns it off; Lightning's ``num_sanity_val_steps``) each hook with a
``sanity_check`` method (``validation``) evaluates its first batches, and every
hook with a ``monitor`` (``early_stop``, ``checkpoint(monitor = ...)``,
``lr_plateau``) is checked against the keys that came back: a missing key stops
the run with the keys the callback returned and a did-you-mean.

It must not change training: the RNG states (torch, CUDA, Python's, NumPy's) are
restored, the model's train/eval mode is restored by the evaluation itself, and
nothing is recorded in a hook's history, printed or logged, so a run with it is
bitwise the run without it (``tests/runtime/test_sanity_validation.py``).
"""

from __future__ import annotations

import random
from typing import Any, Mapping

import torch

from hookpipe.compiler.suggest import did_you_mean
from hookpipe.dsl.span import Span
from hookpipe.runtime.errors import HookpipeRuntimeError, PlanResolveError, RunFailure

__all__ = ["sanity_validation"]


def sanity_validation(instances: Mapping[str, Any], args: Any, batches: int,
                      spans: Mapping[str, Span] | None = None) -> None:
    """Evaluate each validation hook on ``batches`` batches; raise if a monitor names a missing metric.

    The errors name the hook; ``hookpipe run`` puts the file before them. A callback
    that raises is a :class:`~hookpipe.runtime.errors.RunFailure` naming the hook and
    its line in ``spans`` (the hooks' declarations), as a failure in a step is:
    ``hookpipe run`` prints the callback's traceback, then that one line.
    """
    checks = {name: inst for name, inst in instances.items() if callable(getattr(inst, "sanity_check", None))}
    if batches <= 0 or not checks:
        return
    returned: dict[str, dict[str, float] | None] = {}
    python_state = random.getstate()
    numpy_state = _numpy_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        for name, inst in checks.items():
            try:
                returned[name] = inst.sanity_check(args, batches)
            except HookpipeRuntimeError as exc:  # a callback's result hookpipe cannot read: a user mistake
                raise PlanResolveError(f"hook '{name}', in the sanity validation before the first step: "
                                       f"{exc}") from None
            except Exception as exc:  # the callback itself raised: its traceback, then where in the file
                raise RunFailure(f"hook '{name}' failed in the sanity validation", global_step=-1, steps=0,
                                 span=(spans or {}).get(name), in_step=False,
                                 moment="before the first step") from exc
    random.setstate(python_state)
    _restore_numpy(numpy_state)
    for name, inst in instances.items():
        monitor = getattr(inst, "monitor", None)
        if not isinstance(monitor, str):
            continue
        hook, _, key = monitor.partition(".")
        if hook not in returned:
            continue
        metrics = returned[hook] or {}
        if key in metrics:
            continue
        keys = ", ".join(sorted(metrics)) or "no metrics"
        hint = did_you_mean(monitor, [f"{hook}.{k}" for k in metrics])
        raise PlanResolveError(
            f"hook '{name}' monitors `{monitor}`, but the sanity validation before the first step shows "
            f"that '{hook}' returns {keys}" + (f"; {hint}" if hint else "")
            + " (nothing was trained; trainer.sanity_val_batches = 0 skips this check)")


def _numpy_state() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy.random.get_state()


def _restore_numpy(state: Any) -> None:
    if state is not None:
        import numpy

        numpy.random.set_state(state)
