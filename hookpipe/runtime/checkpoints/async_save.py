"""Asynchronous checkpoints: the loop waits only for a host copy of the state.

``accelerator.save_state`` serialises and writes every file while training
waits. Here the loop is blocked only while the state is copied into host memory
(pinned memory for GPU tensors, one synchronisation); a background thread then
serialises the copy into accelerate's own file layout (the names accelerate's
``load_state`` reads, from :mod:`accelerate.utils`), hashes every byte as it is
written (no second read), fsyncs, and hands the per-file checksums to whoever
writes the completion marker. At most one save is in flight per process: the
next one first waits for it (:meth:`AsyncWriter.wait`).

The host snapshot is taken only where the objects to save are all known through
public API: the trainer's model, optimizer, scheduler, the accelerator's
``scaler``, ``step`` and the objects hookpipe registered for checkpointing, on a
plain, DDP or CPU-distributed run. Anything else (FSDP, DeepSpeed, XLA, a
stateful or ``IterableDatasetShard`` loader) is saved synchronously by
``save_state`` (:func:`host_snapshot` returns None).
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import queue
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch

from hookpipe.runtime.checkpoints.random_state import portable_numpy_state  # numpy 1 reads it too

__all__ = ["AsyncWriter", "HashingFile", "HostFile", "host_snapshot", "write_host_file"]

_CHUNK = 8 << 20


@dataclass
class HostFile:
    """One file of a checkpoint, as host data: ``kind`` is ``safetensors`` or ``torch``."""

    name: str
    kind: str
    payload: Any


@dataclass
class Written:
    """What the background thread wrote: ``{name: {"size", "sha256"}}``, or the error that stopped it."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: BaseException | None = None


class HashingFile(io.RawIOBase):
    """A write-only file that hashes the bytes as they go to disk (for ``torch.save``).

    The hash runs in its own thread on copies of the chunks (hashlib releases the
    GIL), so serialising, writing and hashing overlap: the file costs about the
    longest of the three, not their sum.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._hash = hashlib.sha256()
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._hasher = threading.Thread(target=self._digest_chunks, name="hookpipe-checkpoint-hash", daemon=True)
        self._hasher.start()
        self.size = 0

    def _digest_chunks(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._hash.update(chunk)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._file.write(view)
        self._chunks.put(bytes(view))  # the writer may reuse its buffer once write returns
        self.size += len(view)
        return len(view)

    def close(self) -> None:
        if not self._file.closed:
            self._chunks.put(None)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._hasher.join()
        super().close()

    def record(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self._hash.hexdigest()}


def write_host_file(folder: Path, item: HostFile) -> dict[str, Any]:
    """Serialise ``item`` into ``folder``, fsynced; returns its size and SHA-256.

    ``torch.save`` streams into a :class:`HashingFile` (hashed while written);
    safetensors' own writer is much faster than its in-memory ``save``, so that file
    is written by it and hashed from the page cache.
    """
    path = folder / item.name
    if item.kind == "safetensors":
        from safetensors.torch import save_file

        save_file(item.payload, str(path), metadata={"format": "pt"})
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
            os.fsync(f.fileno())
        return {"size": path.stat().st_size, "sha256": digest.hexdigest()}
    out = HashingFile(path)
    try:
        torch.save(item.payload, out)  # type: ignore[arg-type]  # a binary stream, as IO[bytes] is
    finally:
        out.close()
    return out.record()


def _to_host(value: Any, pinned: list[torch.Tensor]) -> Any:
    """A copy of ``value`` whose tensors live in host memory (nested dicts, lists, tuples)."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.device.type == "cpu":
            return tensor.clone()
        host = torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu", pin_memory=True)
        host.copy_(tensor, non_blocking=True)
        pinned.append(host)
        return host
    if isinstance(value, dict):
        return {k: _to_host(v, pinned) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_host(v, pinned) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_host(v, pinned) for v in value)
    return copy.deepcopy(value)


def _plain_run(accelerator: Any, dataloader: Any) -> bool:
    from accelerate.data_loader import IterableDatasetShard
    from accelerate.utils import DistributedType

    plain = {DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU}
    if accelerator.distributed_type not in plain or accelerator.device.type not in ("cpu", "cuda"):
        return False
    if getattr(dataloader, "use_stateful_dataloader", False):
        return False
    return not isinstance(getattr(dataloader, "dataset", None), IterableDatasetShard)


def _rng_state(accelerator: Any) -> dict[str, Any]:
    # The keys accelerate's load_state restores (``random_states_<rank>.pkl``).
    states: dict[str, Any] = {"step": accelerator.step, "random_state": random.getstate(),
                              "numpy_random_seed": portable_numpy_state(np.random.get_state()),
                              "torch_manual_seed": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["torch_cuda_manual_seed"] = torch.cuda.get_rng_state_all()
    return states


def host_snapshot(accelerator: Any, model: Any, optimizer: Any, lr_scheduler: Any, dataloader: Any,
                  custom_objects: Iterable[Any], safe_serialization: bool) -> list[HostFile] | None:
    """The files ``accelerator.save_state`` would write, as host copies (None: save synchronously).

    Called by every process; the model, optimizer, scheduler and scaler files are
    the main process's (as in ``save_state`` without ``save_on_each_node``).
    """
    from accelerate.utils import (
        OPTIMIZER_NAME,
        RNG_STATE_NAME,
        SAFE_WEIGHTS_NAME,
        SCALER_NAME,
        SCHEDULER_NAME,
        WEIGHTS_NAME,
    )

    if not _plain_run(accelerator, dataloader) or accelerator.project_configuration.save_on_each_node:
        return None
    pinned: list[torch.Tensor] = []
    files: list[HostFile] = []
    if accelerator.is_main_process:
        weights = accelerator.get_state_dict(model)  # the unwrapped model's, as save_state writes (no `module.`)
        if safe_serialization:
            files.append(HostFile(SAFE_WEIGHTS_NAME, "safetensors", _unshared(_to_host(weights, pinned))))
        else:
            files.append(HostFile(WEIGHTS_NAME, "torch", _to_host(weights, pinned)))
        files.append(HostFile(f"{OPTIMIZER_NAME}.bin", "torch", _to_host(optimizer.state_dict(), pinned)))
        if lr_scheduler is not None:
            files.append(HostFile(f"{SCHEDULER_NAME}.bin", "torch", _to_host(lr_scheduler.state_dict(), pinned)))
        if accelerator.scaler is not None:
            files.append(HostFile(SCALER_NAME, "torch", _to_host(accelerator.scaler.state_dict(), pinned)))
    files.append(HostFile(f"{RNG_STATE_NAME}_{accelerator.process_index}.pkl", "torch", _rng_state(accelerator)))
    if accelerator.is_main_process:
        for index, obj in enumerate(custom_objects):
            files.append(HostFile(f"custom_checkpoint_{index}.pkl", "torch", _to_host(obj.state_dict(), pinned)))
    if pinned:
        torch.cuda.synchronize()  # the non-blocking copies have landed before the loop changes the tensors
    accelerator.project_configuration.iteration += 1  # as save_state counts its saves
    return files


def _unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # The host copies share no storage (each is its own clone); safetensors wants them contiguous.
    return {name: tensor.contiguous() for name, tensor in state.items()}


class AsyncWriter:
    """One background save at a time; its error, if any, is raised by the next :meth:`wait`."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._result: Written | None = None
        self._describe = ""

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, describe: str, work: Callable[[Written], None]) -> None:
        """Run ``work`` in the background after the previous save finished."""
        self.wait()
        result = Written()

        def run() -> None:
            try:
                work(result)
            except BaseException as exc:  # noqa: BLE001 - reported by wait(), in the loop's thread
                result.error = exc

        self._result, self._describe = result, describe
        self._thread = threading.Thread(target=run, name="hookpipe-checkpoint", daemon=False)
        self._thread.start()

    def wait(self) -> None:
        """Block until the save in flight completed; raise its error, if it failed."""
        thread, result = self._thread, self._result
        if thread is None or result is None:
            return
        thread.join()
        self._thread = self._result = None
        if result.error is not None:
            error = result.error
            raise RuntimeError(f"the checkpoint {self._describe} could not be written: "
                               f"{type(error).__name__}: {error}") from error
