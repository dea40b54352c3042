"""What a checkpoint holds beyond accelerate's ``save_state``, and loading it safely.

accelerate saves the model, optimizer, scheduler, RNG and its step counter.
Exact resumption needs more, written by each process next to them:

* ``hookpipe-state-<rank>.json``: the position of the next step, the guard
  counters, the *cursor* (which call of which phase wrote the checkpoint, so the
  resumed run first runs the rest of that phase, then goes on without re-running a
  ``before`` phase the run was already inside), the step's loss, the state of every
  hook that has ``state_dict``/``load_state_dict`` (JSON values, with tensors
  stored beside it by :mod:`.hook_state`), and the trace length;
* ``hookpipe-grads-<rank>.safetensors``: gradients accumulated inside an
  accumulation window (absent on update boundaries, where they are None).

Loading never unpickles arbitrary objects: JSON and safetensors here, and
accelerate's files through ``torch.load(weights_only=True)`` (its custom-object
loader, which forces ``weights_only=False``, is replaced for the call).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import torch

from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.hook_state import join_tensors, load_hook_tensors, save_hook_tensors, split_tensors

if TYPE_CHECKING:
    from hookpipe.runtime.trainer import HookBasedTrainer

__all__ = ["STATE_FORMAT", "load_accelerate_state", "read_state", "restore_grads", "save_grads", "write_state"]

STATE_FORMAT = 1
_CALLBACK_SCOPE = {"on_step_end": "step", "on_epoch_end": "epoch", "on_loop_end": "loop"}


def state_path(folder: Path, rank: int) -> Path:
    return folder / f"hookpipe-state-{rank}.json"


def grads_path(folder: Path, rank: int) -> Path:
    return folder / f"hookpipe-grads-{rank}.safetensors"


def snapshot(
    trainer: "HookBasedTrainer", callback: str | None, ids: tuple[int, int, int]
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The trainer's hookpipe state as JSON, and the tensors of hook states beside it.

    ``callback`` names the phase the checkpoint runs in; ``None`` means a stop
    between steps: nothing of the step remains to run.
    """
    counters = trainer.counters
    scope = _CALLBACK_SCOPE.get(callback or "", "step")
    index = None
    hooks = getattr(trainer, "hooks", None)
    if callback is not None and trainer.plan is not None:
        channel = hooks.hooks.get(_channel(scope)) if hooks is not None else None
        afters = getattr(channel, "afters", ())
        current = counters.current
        index = next((i for i, c in enumerate(afters) if c is current), None)
    loss = trainer.pending_loss
    tensors: dict[str, torch.Tensor] = {}
    hook_states = {name: split_tensors(inst.state_dict(), name, tensors)
                   for name, inst in trainer.hook_instances.items() if _stateful(inst)}
    return {
        "format": STATE_FORMAT,
        "progress": trainer.trainer_progress_state.state_dict(),
        "counters": counters.snapshot(),
        "cursor": {"scope": scope, "index": index, "ids": list(ids), "stop": callback is None},
        "loss": None if loss is None else float(loss.detach() if isinstance(loss, torch.Tensor) else loss),
        "hooks": hook_states,
        "trace": trainer.tracer.count if trainer.tracer is not None else None,
        # A clean stop already asked for (run.request_stop): the resumed run ends there too.
        "stopping": trainer.run.stop_reason,
    }, tensors


def _channel(scope: str) -> str:
    return f"on_{scope}"


def _stateful(inst: Any) -> bool:
    return callable(getattr(inst, "state_dict", None)) and callable(getattr(inst, "load_state_dict", None))


def write_state(folder: Path, rank: int, state: dict[str, Any], tensors: dict[str, torch.Tensor],
                num_processes: int) -> None:
    """Write this rank's state and its hook tensors (every process must call it)."""
    state = {**state, "hook_tensors": save_hook_tensors(folder, rank, tensors, num_processes)}
    state_path(folder, rank).write_text(json.dumps(state, indent=1), encoding="utf-8")


def read_state(folder: Path, rank: int) -> dict[str, Any] | None:
    """This rank's hookpipe state in a checkpoint, or None for a plain accelerate folder."""
    path = state_path(folder, rank)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanResolveError(f"unreadable checkpoint state {path}: {exc}") from None
    if state.get("format") != STATE_FORMAT:
        raise PlanResolveError(f"{path}: unsupported checkpoint state format {state.get('format')!r}")
    state["hooks"] = join_tensors(state["hooks"], load_hook_tensors(folder, state.get("hook_tensors")))
    return state


def save_grads(folder: Path, rank: int, model: torch.nn.Module) -> None:
    """Write the accumulated gradients, if any (none on an update boundary)."""
    grads = {n: p.grad.detach().cpu().contiguous() for n, p in model.named_parameters() if p.grad is not None}
    if grads:
        from safetensors.torch import save_file

        save_file(grads, str(grads_path(folder, rank)))


def restore_grads(folder: Path, rank: int, model: torch.nn.Module) -> None:
    path = grads_path(folder, rank)
    if not path.exists():
        return
    from safetensors.torch import load_file

    grads = load_file(str(path))
    for name, param in model.named_parameters():
        if name in grads:
            param.grad = grads[name].to(device=param.device, dtype=param.dtype)


def _safe_custom_state(obj: Any, path: str, index: int = 0) -> None:
    from accelerate.utils.other import load

    obj.load_state_dict(load(f"{path}/custom_checkpoint_{index}.pkl", map_location="cpu", weights_only=True))


@contextlib.contextmanager
def _weights_only_custom_states() -> Iterator[None]:
    import accelerate.accelerator as module

    original = module.load_custom_state
    module.load_custom_state = _safe_custom_state
    try:
        yield
    finally:
        module.load_custom_state = original


def load_accelerate_state(accelerator: Any, folder: str | os.PathLike[str], **kwargs: Any) -> None:
    """``accelerator.load_state`` with every ``torch.load`` restricted to ``weights_only=True``."""
    load_kwargs = {**kwargs.pop("load_kwargs", {}), "weights_only": True}
    try:
        with _weights_only_custom_states():
            accelerator.load_state(str(folder), load_kwargs=load_kwargs, **kwargs)
    except __import__("pickle").UnpicklingError as exc:
        raise PlanResolveError(f"checkpoint {folder} holds objects that are not plain data; refusing to unpickle them: "
                               f"{str(exc).splitlines()[0]}") from None
