"""The seed's API resumed mid-epoch with a shuffled loader and a default ``Accelerator`` trains the same batches.

Without accelerate's seedable sampler, torch's ``RandomSampler`` draws each epoch's
order when the epoch's iterator starts: from the global generator, or from the
loader's own ``generator``. The checkpoint records those states as they were at
the epoch's start (and the loader's at the save), so a resumed run goes on at the
next batch of the same order and ends bitwise equal to an uninterrupted run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from accelerate import Accelerator
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.runtime import HookBasedTrainer, PipelineHookArgs, ResumeCheckpointConfig
from hookpipe.runtime.checkpoints.epoch_random import loader_generators, needs_record
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.hooks import HookContext, PipelineHooks, SaveCheckpointConfig
from tests.runtime.hooklib import MSE, tiny_model

#: The global steps each run trained, with the first sample of each batch (which batch it was).
SEEN: list[tuple[int, float]] = []


class Crash:
    """Fails at the start of one global step, as a crash would (the last checkpoint stays)."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_step_begin(self, args: PipelineHookArgs) -> None:
        if args.global_step_id == self.at:
            raise RuntimeError("simulated crash")

    def on_batch_begin(self, args: PipelineHookArgs) -> None:
        SEEN.append((args.global_step_id, float(args.batch[0][0, 0])))


def _train(save: Path, *, crash: int | None = None, resume: bool = False, own_generator: bool = False,
           step_freq: int | None = 3, epoch_freq: int | None = None) -> list[torch.Tensor]:
    torch.manual_seed(0)  # what a training script does first
    data = torch.randn(10, 4, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(5) if own_generator else None
    loader = DataLoader(TensorDataset(data, data.sum(dim=1, keepdim=True)), batch_size=2, shuffle=True,
                        generator=generator)
    model = tiny_model(dropout=0.3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    trainer = HookBasedTrainer(
        accelerator=Accelerator(cpu=True), model=model, dataloader=loader, batch_processor=MSE(),
        optimizer=optimizer, lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=100),
        hooks=[SaveCheckpointConfig(save_root=str(save), save_step_freq=step_freq, save_epoch_freq=epoch_freq,
                                    save_when_loop_end=False), _hooks(Crash(crash))],
        max_epoch=3,
        resume_from=ResumeCheckpointConfig(resume_from=str(save)) if resume else None,
    )
    trainer()
    return [p.detach().clone() for p in model.parameters()]


def _hooks(hook: Crash) -> PipelineHooks:
    hooks = PipelineHooks()
    hooks.register_hook("on_step", HookContext.from_callable(before=hook.on_step_begin))
    hooks.register_hook("on_batch", HookContext.from_callable(before=hook.on_batch_begin))
    return hooks


def _resumed(tmp_path: Path, crash: int, **kwargs: Any) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    SEEN.clear()
    whole = _train(tmp_path / "whole", **kwargs)
    order = list(SEEN)
    SEEN.clear()
    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(tmp_path / "cut", crash=crash, **kwargs)
    first = [s for s, _ in SEEN]
    resumed = _train(tmp_path / "cut", resume=True, **kwargs)
    after = SEEN[len(first):]
    done = (after[0][0] if after else len(order))
    assert [s for s, _ in after] == list(range(done, len(order)))  # the next batch on, with the next ids
    assert after == order[done:], "the resumed run trained other batches than the uninterrupted one"
    return whole, resumed


def _equal(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_a_default_accelerator_resumed_mid_epoch_trains_the_epochs_own_order(tmp_path: Path) -> None:
    whole, resumed = _resumed(tmp_path, crash=4)  # saved after 3 steps: epoch 0, 2 batches left
    assert _equal(whole, resumed)


def test_a_loaders_own_generator_is_restored_mid_epoch_and_between_epochs(tmp_path: Path) -> None:
    whole, resumed = _resumed(tmp_path / "mid", crash=8, own_generator=True)  # saved after 6: 1 batch of epoch 1
    assert _equal(whole, resumed)
    whole, resumed = _resumed(tmp_path / "end", crash=12, own_generator=True, step_freq=None, epoch_freq=1)
    assert _equal(whole, resumed)  # saved at epoch 1's end: epoch 2 draws from the generator as it was


def test_a_checkpoint_without_the_record_is_resumed_with_a_warning(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(tmp_path / "cut", crash=4)
    (tmp_path / "cut" / "hookpipe-epoch-random-0.safetensors").unlink()  # as RoboOrchard Lab writes the folder
    with caplog.at_level(logging.WARNING):
        _train(tmp_path / "cut", resume=True)
    warnings = [r.getMessage() for r in caplog.records if r.name == "hookpipe.runtime.loop.training_loop"]
    assert len(warnings) == 1 and "in the middle of epoch 0: the checkpoint holds no record of the random state" \
        in warnings[0] and "use_seedable_sampler=True" in warnings[0]


def test_a_damaged_record_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(tmp_path / "cut", crash=4)
    (tmp_path / "cut" / "hookpipe-epoch-random-0.safetensors").write_bytes(b"\x08" + b"\x00" * 7 + b"{}junk")
    with pytest.raises(PlanResolveError, match="the epoch's random state hookpipe-epoch-random-0.safetensors is "
                                               "damaged"):
        _train(tmp_path / "cut", resume=True)


def test_the_generator_of_a_loader_sharded_over_processes_is_found() -> None:
    """With several processes accelerate seeds the sampler's own generator once; each epoch goes on from it.

    ``get_sampler()`` finds no sampler behind the ``BatchSamplerShard`` (checked on two
    real processes: resumed between epochs, the run then replayed epoch 0's order).
    """
    Accelerator(cpu=True)
    plain = DataLoader(list(range(10)), batch_size=2, shuffle=True)
    sharded = prepare_data_loader(plain, num_processes=2, process_index=0)  # what each of two processes trains on
    assert sharded.get_sampler() is None  # accelerate's own lookup stops at the shard
    sampler = plain.batch_sampler.sampler
    assert isinstance(sampler.generator, torch.Generator)  # given by prepare_data_loader
    assert loader_generators(sharded) == [sampler.generator] and needs_record(sharded)
    seedable = prepare_data_loader(plain, num_processes=2, process_index=0, use_seedable_sampler=True)
    assert loader_generators(seedable) == [] and not needs_record(seedable)  # a .pipe run's: seeded each epoch
