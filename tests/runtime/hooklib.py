"""Hooks, factories and processors the runtime tests name by import path."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.runtime import (
    BatchProcessorMixin,
    HookContext,
    PipelineHookArgs,
    PipelineHooks,
    PipelineHooksConfig,
    SimpleBatchProcessor,
    always,
)

#: (tag, callback, global_step_id, epoch_id) of every recorded call, in order.
LOG: list[tuple[str, str, int, int]] = []

CALLBACKS = tuple(
    f"on_{c}_{p}" for c in ("loop", "epoch", "step", "batch", "model_forward", "model_backward") for p in ("begin", "end")
)


def recording_hooks(log: list[tuple[Any, ...]]) -> PipelineHooks:
    """Seed-API hooks on the four step scopes appending ``(channel, "begin"|"end", global_step_id, step_id)``,
    and, in the step's scope, accelerate's accumulation bookkeeping (``accelerator.step``, ``sync_gradients``)."""
    hooks = PipelineHooks()
    for channel in ("on_step", "on_batch", "on_model_forward", "on_model_backward"):
        hooks.register_hook(channel, HookContext.from_callable(
            before=lambda a, c=channel: log.append((c, "begin", a.global_step_id, a.step_id)),
            after=lambda a, c=channel: log.append((c, "end", a.global_step_id, a.step_id)),
        ))
    hooks.register_hook("on_step", HookContext.from_callable(
        before=lambda a: log.append(("accelerate", a.accelerator.step, a.accelerator.sync_gradients))))
    return hooks


def recorded_seed_run(processor: Any, accumulation: int, with_hooks: bool,
                      dropout: float = 0.0) -> tuple[list[torch.Tensor], list[Any]]:
    """A seed-API trainer over three epochs of five batches, 13 steps (the last cut inside an accumulation
    window), with :func:`recording_hooks` and clipping when ``with_hooks``: its parameters and the log."""
    from accelerate import Accelerator

    from hookpipe.runtime import GradientClippingHookConfig, HookBasedTrainer

    log: list[Any] = []
    model = tiny_model(dropout=dropout)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    trainer = HookBasedTrainer(
        accelerator=Accelerator(cpu=True, gradient_accumulation_steps=accumulation),
        model=model,
        dataloader=tiny_loader(n=10, batch_size=2),
        batch_processor=processor,
        optimizer=optimizer,
        lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5),
        hooks=recording_hooks(log) if with_hooks else None,
        grad_clip=GradientClippingHookConfig(clip_mode="norm", max_norm=0.05) if with_hooks else None,
        max_step=13,
    )
    trainer()
    return [p.detach().clone() for p in model.parameters()], log


class Recorder:
    """A hookpipe hook class with all twelve callbacks; appends to :data:`LOG`."""

    effects = {"reads": ("time",)}

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def _record(self, callback: str, args: PipelineHookArgs) -> None:
        LOG.append((self.tag, callback, args.global_step_id, args.epoch_id))


def _make(name: str) -> Any:
    def method(self: Recorder, args: PipelineHookArgs) -> None:
        self._record(name, args)

    method.__name__ = name
    return method


for _name in CALLBACKS:
    setattr(Recorder, _name, _make(_name))


class Cleanup:
    """A hook whose step-end callback runs even when the step failed."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    @always
    def on_step_end(self, args: PipelineHookArgs) -> None:
        LOG.append((self.tag, "on_step_end", args.global_step_id, args.epoch_id))

    @always
    def on_batch_end(self, args: PipelineHookArgs) -> None:
        LOG.append((self.tag, "on_batch_end", args.global_step_id, args.epoch_id))


class Boom:
    """A hook that raises at one global step."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if args.global_step_id == self.at:
            raise RuntimeError("boom")


class SeedStyleHooks(PipelineHooks):
    """A RoboOrchard-style container taking its config, registered on on_step."""

    def __init__(self, cfg: "SeedStyleHooksConfig") -> None:
        super().__init__()
        self.tag = cfg.tag
        self.register_hook(
            "on_step",
            HookContext.from_callable(
                before=lambda a: LOG.append((self.tag, "on_step_begin", a.global_step_id, a.epoch_id)),
                after=lambda a: LOG.append((self.tag, "on_step_end", a.global_step_id, a.epoch_id)),
            ),
        )


class SeedStyleHooksConfig(PipelineHooksConfig[SeedStyleHooks]):
    class_type: type[SeedStyleHooks] = SeedStyleHooks
    tag: str


class FileRecorder:
    """Appends ``callback global_step`` lines to ``<path>.<rank>`` (multi-process tests)."""

    def __init__(self, path: str, tag: str) -> None:
        self.path = path
        self.tag = tag

    def on_step_end(self, args: PipelineHookArgs) -> None:
        rank = args.accelerator.process_index
        with open(f"{self.path}.{rank}", "a", encoding="utf-8") as fh:
            fh.write(f"{self.tag} {args.global_step_id}\n")


class StopOnRank:
    """Asks the trainer to stop on one rank only, after its ``at``-th step (0-based global step)."""

    def __init__(self, rank: int, at: int) -> None:
        self.rank = rank
        self.at = at
        self._trainer: Any = None

    def bind_trainer(self, trainer: Any) -> None:
        self._trainer = trainer

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if args.accelerator.process_index == self.rank and args.global_step_id == self.at:
            self._trainer.stop.request(f"asked on rank {self.rank}", 1)


def tiny_model(dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(dropout), nn.ReLU(), nn.Linear(8, 1))


def uneven_loader(sizes: list[int], batch_size: int = 2) -> DataLoader:
    """A loader of ``sizes[rank]`` samples: ranks that disagree on the number of batches."""
    return tiny_loader(sizes[int(os.environ.get("RANK", "0"))], batch_size)


def tiny_loader(n: int = 10, batch_size: int = 2, shuffle: bool = False) -> DataLoader:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    y = x.sum(dim=1, keepdim=True)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


class LossOnly(SimpleBatchProcessor):
    """A Lightning habit: ``forward`` returns the loss alone, not ``(outputs, loss)``."""

    def forward(self, model: Any, batch: Any) -> Any:
        x, y = batch
        return torch.nn.functional.mse_loss(model(x), y)


class MSE(SimpleBatchProcessor):
    """Mean squared error; raises at ``fail_at`` (a global batch count) if given."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.calls = 0

    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls += 1
        if self.fail_at is not None and self.calls - 1 == self.fail_at:
            raise ValueError("bad batch")
        x, y = batch
        out = model(x)
        return out, ((out - y) ** 2).mean()


class RankLoss(SimpleBatchProcessor):
    """A loss of ``1 + 100 * rank`` on each process (no gradient): the mean over two processes is 51."""

    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        import torch.distributed as dist

        rank = dist.get_rank() if dist.is_initialized() else 0
        out = model(batch[0])
        return out, (out * 0).sum() + 1 + 100 * rank


class CallMSE(BatchProcessorMixin):
    """The seed's contract: ``__call__`` opens the model scopes and calls ``accelerator.backward`` itself."""

    def __call__(self, pipeline_hooks: PipelineHooks, on_batch_hook_args: PipelineHookArgs, model: Any) -> None:
        x, y = on_batch_hook_args.batch
        with pipeline_hooks.begin("on_model_forward", on_batch_hook_args) as fwd:
            out = model(x)
            loss = ((out - y) ** 2).mean()
            fwd.model_outputs, fwd.reduce_loss = out, loss
        with pipeline_hooks.begin("on_model_backward", on_batch_hook_args):
            on_batch_hook_args.accelerator.backward(loss)
        on_batch_hook_args.model_outputs, on_batch_hook_args.reduce_loss = out, loss




def held_out_error(args: PipelineHookArgs) -> dict[str, float]:
    """A validation callback: mean squared error of the model on fixed inputs."""
    x = torch.linspace(-1, 1, 16).reshape(4, 4)
    with torch.no_grad():
        return {"mse": float(((args.model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean())}


class SneakyNormLogger:
    """Declares only `reads grads` but clips them: what --check-effects must catch."""

    def on_step_end(self, args: PipelineHookArgs) -> None:
        params = [p for p in args.model.parameters() if p.grad is not None]
        if params:
            torch.nn.utils.clip_grad_norm_(params, 0.01)


class SignalAt:
    """Sends a signal to its own process at one global step (a deterministic SIGTERM)."""

    def __init__(self, step: int, signal: str = "SIGTERM", rank: int | None = None) -> None:
        self.step = step
        self.signal = signal
        self.rank = rank  # only this rank signals itself (None: every rank)

    def on_step_begin(self, args: PipelineHookArgs) -> None:
        import signal as signals

        if self.rank is not None and int(os.environ.get("RANK", "0")) != self.rank:
            return
        if args.global_step_id == self.step:
            os.kill(os.getpid(), getattr(signals, self.signal))


class Stall:
    """Blocks one rank forever at one global step (a rank stuck while the others wait for it)."""

    def __init__(self, step: int, rank: int, marker: str) -> None:
        self.step, self.rank, self.marker = step, rank, marker

    def on_step_begin(self, args: PipelineHookArgs) -> None:
        import time

        if args.global_step_id == self.step and int(os.environ.get("RANK", "0")) == self.rank:
            with open(self.marker, "w") as f:
                f.write("stalled")
            while True:
                time.sleep(3600)


class NanAt(MSE):
    """MSE whose loss is NaN at the given global batch counts."""

    def __init__(self, steps: list[int]) -> None:
        super().__init__()
        self.steps = set(steps)

    def forward(self, model: Any, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        out, loss = super().forward(model, batch)
        return out, loss * float("nan") if self.calls - 1 in self.steps else loss
