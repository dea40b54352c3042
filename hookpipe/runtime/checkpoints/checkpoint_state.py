"""What a checkpoint holds beyond accelerate's ``save_state``, and loading it safely.

accelerate saves the model, optimizer, scheduler, RNG and its step counter.
Exact resumption needs more, written by each process next to them:

* ``hookpipe-state-<rank>.json``: the position of the next step, the guard
  counters, the *cursor* (which call of which phase wrote the checkpoint, so the
  resumed run first runs the rest of that phase, then goes on without re-running a
  ``before`` phase the run was already inside), the step's loss, the state of every
  hook that has ``state_dict``/``load_state_dict`` (JSON values, with tensors
  stored beside it by :mod:`.hook_state`), and the trace length;
* ``hookpipe-progress.json``: the position of the next step and the update count,
  written into every ``save_state`` folder (a RoboOrchard Lab ``SaveCheckpoint``
  under hookpipe's trainer too), beside the seed's own progress record;
* ``hookpipe-grads-<rank>.safetensors`` (here and from the seed's ``SaveCheckpoint``): gradients accumulated inside an
  accumulation window (absent on update boundaries, where they are None).

Loading never unpickles arbitrary objects: JSON and safetensors here, and
accelerate's files through ``torch.load(weights_only=True)`` (its custom-object
loader, which forces ``weights_only=False``, is replaced for the call).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Protocol

import torch

from hookpipe.compiler.loop import SCOPE_CHANNEL, callback_name
from hookpipe.compiler.plan import Plan
from hookpipe.fileaccess import Refused, read_json
from hookpipe.runtime.checkpoints.hook_state import join_tensors, load_hook_tensors, save_hook_tensors, split_tensors
from hookpipe.runtime.checkpoints.random_state import restore_problem
from hookpipe.runtime.dispatch.channels import Counters
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.run_context import RunContext
from hookpipe.runtime.tracking.trace import Tracer

__all__ = ["STATE_FORMAT", "load_accelerate_state", "read_state", "restore_grads", "save_grads", "write_state"]

_log = logging.getLogger(__name__)

STATE_FORMAT = 1
#: hookpipe's progress record (the next step's position), beside accelerate's files.
PROGRESS_FILE = "hookpipe-progress.json"
#: The phases a checkpoint hook may run in (the catalog's placement of ``checkpoint``), by callback.
_CALLBACK_SCOPE = {callback_name(scope, "after"): scope for scope in ("step", "epoch", "loop")}


class Checkpointed(Protocol):
    """What a checkpoint records of a trainer (``TrainingLoop`` has it all)."""

    counters: Counters
    plan: Plan | None
    pending_loss: Any
    trainer_progress_state: Any
    hook_instances: Mapping[str, Any]
    tracer: Tracer | None
    run: RunContext


def state_path(folder: Path, rank: int) -> Path:
    return folder / f"hookpipe-state-{rank}.json"


def grads_path(folder: Path, rank: int) -> Path:
    return folder / f"hookpipe-grads-{rank}.safetensors"


def snapshot(
    trainer: Checkpointed, callback: str | None, ids: tuple[int, int, int]
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
        channel = hooks.hooks.get(SCOPE_CHANNEL[scope]) if hooks is not None else None
        afters = getattr(channel, "afters", ())
        current = counters.current
        index = next((i for i, c in enumerate(afters) if c is current), None)
    loss = trainer.pending_loss
    tensors: dict[str, torch.Tensor] = {}
    hook_states = {name: split_tensors(inst.state_dict(), name, tensors)
                   for name, inst in trainer.hook_instances.items() if stateful(inst)}
    return {
        "format": STATE_FORMAT,
        "progress": trainer.trainer_progress_state.position(),
        "counters": counters.snapshot(),
        "cursor": {"scope": scope, "index": index, "ids": list(ids), "stop": callback is None},
        "loss": None if loss is None else float(loss.detach() if isinstance(loss, torch.Tensor) else loss),
        "hooks": hook_states,
        "trace": trainer.tracer.count if trainer.tracer is not None else None,
        # A clean stop already asked for (run.request_stop): the resumed run ends there too.
        "stopping": trainer.run.stop_reason,
        # The run.* values the run had, so a resumed run can say which of them changed.
        "run": trainer.run.size.as_dict(),
    }, tensors


def stateful(inst: Any) -> bool:
    """Whether a hook's state is checkpointed: it has ``state_dict`` and ``load_state_dict``."""
    return callable(getattr(inst, "state_dict", None)) and callable(getattr(inst, "load_state_dict", None))


def progress_path(folder: Path) -> Path:
    return folder / PROGRESS_FILE


def write_progress(folder: Path, position: dict[str, Any]) -> None:
    """hookpipe's progress record beside the seed's (written into every ``save_state`` folder)."""
    progress_path(folder).write_text(json.dumps(position), encoding="utf-8")


def read_progress(folder: Path) -> dict[str, Any] | None:
    """hookpipe's progress record in a checkpoint, or None (a RoboOrchard Lab checkpoint)."""
    path = progress_path(folder)
    if not path.exists():
        return None
    try:
        return read_json(path)  # regular file, size cap, nesting: see hookpipe.fileaccess
    except Refused as exc:
        raise PlanResolveError(f"unreadable checkpoint progress {path}: the file {exc.reason}") from None


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
        state = read_json(path)
    except Refused as exc:
        raise PlanResolveError(f"unreadable checkpoint state {path}: the file {exc.reason}") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise PlanResolveError(f"{path}: unsupported checkpoint state format {found!r}")
    problem = validate_state(state)
    if problem is not None:
        raise PlanResolveError(f"{path}: the checkpoint state is invalid: {problem}; resume from another checkpoint")
    state["hooks"] = join_tensors(state["hooks"], load_hook_tensors(folder, state.get("hook_tensors")))
    return state


#: Step and epoch counters are 64-bit in the language; a checkpoint's are held to it too.
_MAX_ID = 2**63 - 1


def validate_state(state: dict[str, Any]) -> str | None:
    """What is wrong with a loaded state's shape and ranges (None: nothing).

    A tampered or corrupt file must not become a run that starts at step -5 or
    at step 10**30, nor a crash deep inside the loop.
    """
    progress = state.get("progress")
    if not isinstance(progress, dict):
        return "`progress` must be a table"
    for key in ("epoch_id", "step_id", "global_step_id", "update_count"):
        if not _count(progress.get(key)):
            return f"`progress.{key}` must be an integer from 0 to {_MAX_ID}, not {_show(progress.get(key))}"
    if progress["step_id"] > progress["global_step_id"]:
        return "`progress.step_id` is larger than `progress.global_step_id`"
    cursor = state.get("cursor")
    if not isinstance(cursor, dict):
        return "`cursor` must be a table"
    if cursor.get("scope") not in ("step", "epoch", "loop"):
        return f"`cursor.scope` must be step, epoch or loop, not {_show(cursor.get('scope'))}"
    if cursor.get("index") is not None and not _count(cursor.get("index")):
        return f"`cursor.index` must be a non-negative integer or null, not {_show(cursor.get('index'))}"
    ids = cursor.get("ids")
    if not (isinstance(ids, list) and len(ids) == 3 and all(_count(i) for i in ids)):
        return f"`cursor.ids` must be three non-negative integers, not {_show(ids)}"
    if not isinstance(cursor.get("stop", False), bool):
        return "`cursor.stop` must be true or false"
    if not isinstance(state.get("counters"), dict):
        return "`counters` must be a table"
    batch = state["counters"].get("batch", [0, False])
    if not (isinstance(batch, list) and len(batch) == 2 and _count(batch[0]) and isinstance(batch[1], bool)):
        return f"`counters.batch` must be a batch count and true or false, not {_show(batch)}"
    if not isinstance(state.get("hooks"), dict):
        return "`hooks` must be a table"
    if state.get("trace") is not None and not _count(state.get("trace")):
        return f"`trace` must be a non-negative integer or null, not {_show(state.get('trace'))}"
    loss = state.get("loss")
    if loss is not None and (isinstance(loss, bool) or not isinstance(loss, (int, float))):
        return f"`loss` must be a number or null, not {_show(loss)}"
    return None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_ID


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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


def _numpy1_names() -> list[Any]:
    """numpy 1's name of the array rebuilder, for RNG states pickled under numpy 1.

    RoboOrchard Lab pins numpy below 2; its checkpoints name
    ``numpy.core.multiarray._reconstruct``, which numpy 2 keeps as an alias of the
    function accelerate already allows. Without it accelerate skips the RNG file
    (logging "Could not load random states"), and with it the accumulation counter.
    """
    import numpy

    rebuild = getattr(numpy, "_core", numpy.core).multiarray._reconstruct
    return [(rebuild, "numpy.core.multiarray._reconstruct")]


def load_accelerate_state(accelerator: Any, folder: str | os.PathLike[str], **kwargs: Any) -> None:
    """``accelerator.load_state`` with every ``torch.load`` restricted to ``weights_only=True``."""
    load_kwargs = {**kwargs.pop("load_kwargs", {}), "weights_only": True}
    with torch.serialization.safe_globals(_numpy1_names()):
        _check_random_state(Path(folder), accelerator.process_index)
    try:
        with _weights_only_custom_states(), torch.serialization.safe_globals(_numpy1_names()):
            accelerator.load_state(str(folder), load_kwargs=load_kwargs, **kwargs)
    except __import__("pickle").UnpicklingError as exc:
        raise PlanResolveError(f"checkpoint {folder} holds objects that are not plain data; refusing to unpickle them: "
                               f"{str(exc).splitlines()[0]}") from None
    except Exception as exc:  # noqa: BLE001 - a truncated or missing file: one line, not a loader's traceback
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        raise PlanResolveError(f"cannot load checkpoint {folder}: {type(exc).__name__}: {first}; the checkpoint is "
                               "damaged: resume from an earlier one") from None


def _check_random_state(folder: Path, rank: int) -> None:
    """accelerate ignores an RNG state it cannot load (the run then draws other numbers): refuse instead."""
    path = folder / f"random_states_{rank}.pkl"
    if not path.exists():
        raise PlanResolveError(f"checkpoint {folder} has no random state for process {rank} ({path.name}); "
                               "a resumed run would not be the same run: resume from a complete checkpoint")
    from accelerate.utils.other import load

    try:
        states = load(str(path), map_location="cpu", weights_only=True)
        if not isinstance(states, dict) or "random_state" not in states:
            raise ValueError("not a random-state dictionary")
    except Exception as exc:  # noqa: BLE001 - any failure means the file is not a usable RNG state
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise PlanResolveError(f"checkpoint {folder}: the random state {path.name} is corrupt ({first}); "
                               "resume from an earlier checkpoint") from None
    problem = restore_problem(states)
    if problem is not None:  # accelerate would log "Could not load random states" at INFO and go on
        _log.warning(f"cannot restore the random state from {path}: {problem}; the resumed run goes on with "
                     "the current generators, so its random numbers (dropout, shuffling) differ from the "
                     "interrupted run's")
