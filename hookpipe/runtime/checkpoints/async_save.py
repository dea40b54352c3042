"""Asynchronous checkpoints: the loop waits only for a host copy of the state.

``accelerator.save_state`` serialises and writes every file while training
waits. Here the loop is blocked only while the state is copied into host memory
by torch's own checkpoint stager (:class:`HostStager`: the host buffers are kept
from one save to the next, pinned for GPU tensors, so a save after the first is
one memory copy); a background thread then serialises the copy into accelerate's
own file layout (the names accelerate's ``load_state`` reads, from
:mod:`accelerate.utils`), hashes every byte while it is written, asks the kernel
to start writing each file back as it grows, fsyncs, and hands the per-file
checksums to whoever writes the completion marker. At most one save is in
flight per process: the next one first waits for it (:meth:`AsyncWriter.wait`).

The host snapshot is taken only where the objects to save are all known through
public API: the trainer's model, optimizer, scheduler, the accelerator's
``scaler``, ``step`` and the objects hookpipe registered for checkpointing, on a
plain, DDP or CPU-distributed run. Anything else (FSDP, DeepSpeed, XLA, a
stateful or ``IterableDatasetShard`` loader) is saved synchronously by
``save_state`` (:func:`host_snapshot` returns None).
"""

from __future__ import annotations

import io
import os
import random
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch

from hookpipe.runtime.checkpoints import checksum
from hookpipe.runtime.checkpoints.random_state import portable_numpy_state  # numpy 1 reads it too

__all__ = ["AsyncWriter", "DurableFile", "HostFile", "HostStager", "host_snapshot", "write_host_file"]

#: Bytes written between two hints that the kernel should start writing the file back,
#: so that the final fsync finds little left to write (see :class:`DurableFile`).
_WRITEBACK = 64 << 20
#: Writes at least this large are hashed in a second thread while the kernel copies them.
_OVERLAP = 1 << 20


@dataclass
class HostFile:
    """One file of a checkpoint, as host data: ``kind`` is ``safetensors`` or ``torch``."""

    name: str
    kind: str
    payload: Any


@dataclass
class Written:
    """What the background thread wrote: ``{name: {"size", checksum.KEY}}``, or the error that stopped it."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: BaseException | None = None


def _start_writeback(fd: int, start: int, length: int) -> None:
    # POSIX_FADV_DONTNEED makes Linux start writing the range's dirty pages back without waiting
    # for them (the pages stay cached until they are clean); the fsync at the end is what makes
    # the file durable, this only moves the disk's work to while the rest is being written.
    if length > 0 and hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, start, length, os.POSIX_FADV_DONTNEED)


class DurableFile(io.RawIOBase):
    """A write-only file (for ``torch.save``) that is hashed as it is written and fsynced on close.

    A large write is hashed by a second thread while this one hands the same
    buffer to the kernel (both release the GIL), and returns once both are done,
    so no byte is copied for the hash and the writer may reuse its buffer. Every
    ``_WRITEBACK`` bytes the kernel is asked to start writing back, so the fsync
    at :meth:`close` waits for the last stretch only, not for the whole file.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        self._hash = checksum.new()
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="hookpipe-checkpoint-hash")
        self._hinted = 0
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if len(view) >= _OVERLAP:
            hashed = self._hasher.submit(self._hash.update, view)
            try:
                self._file.write(view)
            finally:
                hashed.result()
        else:
            self._hash.update(view)
            self._file.write(view)
        self.size += len(view)
        if self.size - self._hinted >= _WRITEBACK:
            self._file.flush()
            _start_writeback(self._file.fileno(), self._hinted, self.size - self._hinted)
            self._hinted = self.size
        return len(view)

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            finally:
                self._file.close()
                self._hasher.shutdown()
        super().close()

    def record(self) -> dict[str, Any]:
        return {"size": self.size, checksum.KEY: self._hash.hexdigest()}


def _hash_written(path: Path) -> dict[str, Any]:
    """Size and checksum of a file another writer just wrote, read back from the page cache, then fsynced."""
    digest = checksum.new()
    size = hinted = 0
    with open(path, "rb") as f:
        while chunk := f.read(checksum.CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size - hinted >= _WRITEBACK:
                _start_writeback(f.fileno(), hinted, size - hinted)
                hinted = size
        os.fsync(f.fileno())
    return {"size": size, checksum.KEY: digest.hexdigest()}


def write_host_file(folder: Path, item: HostFile) -> dict[str, Any]:
    """Serialise ``item`` into ``folder``, fsynced; returns its size and checksum.

    ``torch.save`` streams into a :class:`DurableFile` (hashed while written);
    safetensors' own writer is much faster than its in-memory ``save``, so that
    file is written by it and hashed from the page cache. The weights are cleaned
    as accelerate's ``save`` cleans them (aliases removed, contiguous), so the
    file is byte for byte the one ``save_state`` writes.
    """
    path = folder / item.name
    if item.kind == "safetensors":
        from accelerate.utils import clean_state_dict_for_safetensors
        from safetensors.torch import save_file

        weights = item.payload
        if isinstance(weights, OrderedDict):
            weights = clean_state_dict_for_safetensors(weights)
        save_file(weights, str(path), metadata={"format": "pt"})
        return _hash_written(path)
    out = DurableFile(path)
    try:
        torch.save(item.payload, out)  # type: ignore[arg-type]  # a binary stream, as IO[bytes] is
    finally:
        out.close()
    return out.record()


class HostStager:
    """Host copies of the state, in buffers kept from one save to the next.

    torch's checkpoint stager (``torch.distributed.checkpoint.staging``) copies
    every tensor into a host storage it caches per source storage, keeps views
    and shared storages as they are, and copies the rest of the objects; on a GPU
    its buffers are pinned and the copies asynchronous, followed by one
    synchronisation. The price is one host copy of the state held for the run
    (what a save needs anyway); :meth:`close` gives it back.
    """

    def __init__(self) -> None:
        self._stager: Any = None
        self._device = ""

    def stage(self, state: Any, device: torch.device) -> Any:
        """A host copy of ``state``, complete when this returns (the loop may change the originals)."""
        from torch.distributed.checkpoint.staging import DefaultStager, StagingOptions

        if self._stager is None or self._device != device.type:
            self.close()
            gpu = device.type == "cuda"
            self._stager = DefaultStager(StagingOptions(use_pinned_memory=gpu, use_shared_memory=False,
                                                        use_async_staging=False, use_non_blocking_copy=gpu))
            self._device = device.type
        return self._stager.stage(state)

    def close(self) -> None:
        if self._stager is not None:
            self._stager.close()
            self._stager = None


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
    # The keys accelerate's load_state restores (``random_states_<rank>.pkl``); fresh objects, no copy needed.
    states: dict[str, Any] = {"step": accelerator.step, "random_state": random.getstate(),
                              "numpy_random_seed": portable_numpy_state(np.random.get_state()),
                              "torch_manual_seed": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["torch_cuda_manual_seed"] = torch.cuda.get_rng_state_all()
    return states


def host_snapshot(stager: HostStager, accelerator: Any, model: Any, optimizer: Any, lr_scheduler: Any,
                  dataloader: Any, custom_objects: Iterable[Any], safe_serialization: bool) -> list[HostFile] | None:
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
    state: dict[str, tuple[str, Any]] = {}  # file name -> (kind, live state), staged in one call
    if accelerator.is_main_process:
        # The unwrapped model's weights, as save_state writes them (no `module.`).
        weights = accelerator.get_state_dict(model)
        state[SAFE_WEIGHTS_NAME if safe_serialization else WEIGHTS_NAME] = (
            "safetensors" if safe_serialization else "torch", weights)
        state[f"{OPTIMIZER_NAME}.bin"] = ("torch", optimizer.state_dict())
        if lr_scheduler is not None:
            state[f"{SCHEDULER_NAME}.bin"] = ("torch", lr_scheduler.state_dict())
        if accelerator.scaler is not None:
            state[SCALER_NAME] = ("torch", accelerator.scaler.state_dict())
        for index, obj in enumerate(custom_objects):
            state[f"custom_checkpoint_{index}.pkl"] = ("torch", obj.state_dict())
    staged = stager.stage({name: payload for name, (_, payload) in state.items()}, accelerator.device)
    files = [HostFile(name, kind, staged[name]) for name, (kind, _) in state.items()]
    files.append(HostFile(f"{RNG_STATE_NAME}_{accelerator.process_index}.pkl", "torch", _rng_state(accelerator)))
    accelerator.project_configuration.iteration += 1  # as save_state counts its saves
    return files


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
