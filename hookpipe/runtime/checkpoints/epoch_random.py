"""The random state an epoch's batch order is drawn from, kept so a resume mid-epoch trains the same batches.

torch's ``RandomSampler`` (``DataLoader(shuffle=True)``) draws the epoch's order
when its iterator starts: from the sampler's own ``generator`` when it has one,
else from a seed it draws from the global CPU generator (the loader draws its
workers' base seed there too, or from its own ``generator``). accelerate's seedable
sampler, which a ``.pipe`` run uses, makes the order a function of seed and epoch;
with any other sampler (the seed's API with a default ``Accelerator()``) a run
resumed mid-epoch would draw another order: the global generator accelerate
restores is the one at the checkpoint (after the epoch's draw), and the loader's
own generators are in no accelerate checkpoint at all. The rest of the epoch
would be trained on the next epoch's order, or on the first epoch's.

So the trainer keeps, for the epoch being trained, the global CPU generator's
state and the loader's generators' states from just before its iterator started
(:meth:`EpochRandom.started`). Where the loader's order depends on them, every
``save_state`` folder of the run gets them, with the loader's generators' states
at the save, in ``hookpipe-epoch-random-<rank>.safetensors`` (written by the
trainer's ``save_state`` pre-hook, so the seed's ``SaveCheckpoint``, RoboOrchard
Lab's own under hookpipe's trainer and a hook's ``save_state`` carry it). A run
resumed mid-epoch starts the iterator from the recorded states, inside
``fork_rng`` so the global generator stays as restored; a run resumed between
epochs gives the loader's generators their saved states. The generators are found
through public attributes only: the loader's ``generator`` and its sampler's
(accelerate's ``get_sampler()`` on a prepared loader, torch's
``batch_sampler.sampler`` / ``sampler`` on a plain one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hookpipe.runtime.errors import PlanResolveError

__all__ = ["EpochRandom", "SavedRandom", "loader_generators", "needs_record", "order_depends_on_rng", "random_path",
           "read_epoch_random"]

_FORMAT = "1"


def random_path(folder: Path, rank: int) -> Path:
    """This process's record of the epoch's random state in a ``save_state`` folder."""
    return folder / f"hookpipe-epoch-random-{rank}.safetensors"


def _sampler(loader: Any) -> Any:
    """The sampler that orders ``loader``'s samples, or None.

    accelerate's ``get_sampler()`` finds it on a prepared loader of one process;
    with several, its ``BatchSamplerShard`` (like its ``SkipBatchSampler``) keeps the
    batch sampler it wraps as ``batch_sampler``, followed here down to the one
    with a ``sampler`` (torch's ``BatchSampler``). A loader without batches
    (``batch_size=None``) orders by its ``sampler`` itself.
    """
    get = getattr(loader, "get_sampler", None)  # accelerate's prepared loaders (DataLoaderShard, ...Dispatcher)
    sampler = get() if callable(get) else None
    holder = getattr(loader, "batch_sampler", None)
    for _ in range(8):  # a few wrappers at most; never a cycle
        if sampler is not None or holder is None:
            break
        sampler = getattr(holder, "sampler", None)
        holder = getattr(holder, "batch_sampler", None)
    return sampler if sampler is not None else getattr(loader, "sampler", None)


def _epoch_seeded(sampler: Any) -> bool:
    # accelerate's seedable sampler: its generator is seeded from the seed and the epoch (set_epoch) at each epoch.
    return callable(getattr(sampler, "set_epoch", None))


def loader_generators(loader: Any) -> list[torch.Generator]:
    """The ``torch.Generator`` objects ``loader`` draws from when an epoch starts, each once, in a fixed order.

    A sampler seeded from the epoch (``set_epoch``) re-seeds its generator at every
    epoch: that one carries nothing from one epoch to the next and is left out.
    """
    sampler = _sampler(loader)
    own = getattr(sampler, "generator", None)
    seeded = own if _epoch_seeded(sampler) else None
    found: list[torch.Generator] = []
    for candidate in (getattr(loader, "generator", None), own):
        fresh = not any(candidate is g for g in found)
        if isinstance(candidate, torch.Generator) and candidate is not seeded and fresh:
            found.append(candidate)
    return found


def order_depends_on_rng(loader: Any) -> bool:
    """Whether the loader's order is drawn at random at each epoch, not set from the epoch (``set_epoch``)."""
    sampler = _sampler(loader)
    return isinstance(sampler, torch.utils.data.RandomSampler) and not _epoch_seeded(sampler)


def needs_record(loader: Any) -> bool:
    """Whether a resume of ``loader``'s epochs needs the record: its order is drawn at random, or it has generators.

    A ``.pipe`` run's loader (accelerate's seedable sampler, no generator of its own)
    needs none: its order is a function of the epoch, and its checkpoints, written
    synchronously or not, hold the same files.
    """
    return order_depends_on_rng(loader) or bool(loader_generators(loader))


@dataclass(frozen=True)
class SavedRandom:
    """A checkpoint's record: the epoch it was taken in and the states from its start; the loader's at the save."""

    epoch: int | None
    torch_start: torch.Tensor | None
    generators_start: tuple[torch.Tensor, ...]
    generators_saved: tuple[torch.Tensor, ...]


class EpochRandom:
    """The run's record of the random state at the start of the epoch being trained (one per trainer).

    ``loader`` is the prepared training loader: its generators are recorded.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.epoch: int | None = None
        self.torch_start: torch.Tensor | None = None
        self.generators_start: tuple[torch.Tensor, ...] = ()

    def started(self, epoch: int, torch_start: torch.Tensor | None = None) -> None:
        """Record the states just before epoch ``epoch``'s iterator starts.

        ``torch_start`` is the global generator's state the iterator will start
        from when that is not the current one (a resumed epoch: the recorded one).
        """
        self.epoch = epoch
        self.torch_start = torch.get_rng_state() if torch_start is None else torch_start
        self.generators_start = tuple(g.get_state() for g in loader_generators(self.loader))

    def write(self, folder: Path, rank: int) -> None:
        """Write this process's record into a ``save_state`` folder, where the loader needs one (every process)."""
        if not needs_record(self.loader):
            return
        from safetensors.torch import save_file

        tensors: dict[str, torch.Tensor] = {}
        if self.epoch is not None and self.torch_start is not None:
            tensors["torch.start"] = self.torch_start
            tensors.update((f"start.{i}", state) for i, state in enumerate(self.generators_start))
        generators = loader_generators(self.loader)
        tensors.update((f"saved.{i}", g.get_state()) for i, g in enumerate(generators))
        metadata = {"format": _FORMAT, "epoch": "" if self.epoch is None else str(self.epoch),
                    "generators": str(len(generators))}
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(random_path(folder, rank)), metadata=metadata)


def read_epoch_random(folder: Path, rank: int) -> SavedRandom | None:
    """This process's record in a checkpoint, or None where there is none (RoboOrchard Lab's, older hookpipe's).

    Raises:
        PlanResolveError: a record that is damaged or holds no generator state (every state
            is tried on a scratch generator, which refuses a malformed one).
    """
    path = random_path(folder, rank)
    if not path.exists():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        if metadata.get("format") != _FORMAT:
            raise ValueError(f"unsupported format {metadata.get('format')!r}")
        count = int(metadata["generators"])
        if not 0 <= count <= len(tensors):
            raise ValueError(f"{count} generators recorded")
        epoch = int(metadata["epoch"]) if metadata.get("epoch") else None
        if epoch is not None and epoch < 0:
            raise ValueError(f"epoch {epoch}")
        for state in tensors.values():
            torch.Generator().set_state(state)
        start = tuple(tensors[f"start.{i}"] for i in range(count)) if "torch.start" in tensors else ()
        saved = tuple(tensors[f"saved.{i}"] for i in range(count))
    except Exception as exc:  # noqa: BLE001 - any failure means the record is not usable
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise PlanResolveError(f"checkpoint {folder}: the epoch's random state {path.name} is damaged ({first}); "
                               "resume from another checkpoint") from None
    return SavedRandom(epoch, tensors.get("torch.start"), start, saved)
