"""The fast path: bitwise the same training as accelerate's own calls, and chosen only where it may be."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from hookpipe.runtime import GradientClippingHookConfig, HookBasedTrainer, SimpleBatchProcessor, fastpath
from hookpipe.runtime.fastpath import AcceleratePath, PlainPath, fast_path, plain_optimizer


class _MSE(SimpleBatchProcessor):
    def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
        x, y = batch
        out = model(x)
        return out, F.mse_loss(out, y)


def _train(force_accelerate: bool, monkeypatch: pytest.MonkeyPatch, accumulation: int, clip: str) -> list[torch.Tensor]:
    if force_accelerate:
        monkeypatch.setattr(fastpath, "_plain_ok", lambda acc: False)
        monkeypatch.setattr(fastpath, "_plain_optimizer", lambda opt: False)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(4, 8, generator=g) * 3, torch.randn(4, 1, generator=g)) for _ in range(23)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=accumulation)
    clip_cfg = (
        GradientClippingHookConfig(clip_mode="norm", max_norm=0.5)
        if clip == "norm"
        else GradientClippingHookConfig(clip_mode="value", clip_value=0.01)
    )
    trainer = HookBasedTrainer(
        accelerator, model, batches, _MSE(), optimizer,
        torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5),
        max_epoch=2, grad_clip=clip_cfg,
    )
    assert fast_path(accelerator).plain is not force_accelerate
    trainer()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("accumulation", [1, 3])
@pytest.mark.parametrize("clip", ["norm", "value"])
def test_fast_path_trains_bitwise_like_accelerate(monkeypatch: pytest.MonkeyPatch, accumulation: int, clip: str) -> None:
    from accelerate.state import AcceleratorState, GradientState

    fast = _train(False, monkeypatch, accumulation, clip)
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    slow = _train(True, monkeypatch, accumulation, clip)
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, torch.zeros_like(a)) for a in fast)


def test_plain_path_only_without_scaler_or_fp16(monkeypatch: pytest.MonkeyPatch) -> None:
    acc = Accelerator(cpu=True)
    assert isinstance(fast_path(acc), PlainPath)
    assert fast_path(acc) is fast_path(acc)  # decided once
    other = Accelerator(cpu=True)
    other.scaler = object()  # as with fp16: unscaling and scaler.step need accelerate
    assert type(fast_path(other)) is AcceleratePath


def test_the_optimizer_hook_steps_the_wrapped_optimizer_only_when_gradients_are_synchronised() -> None:
    from hookpipe.runtime import PipelineHookArgs
    from hookpipe.runtime.hooks.optimizer import OptimizerHook

    acc = Accelerator(cpu=True, gradient_accumulation_steps=2)
    param = torch.nn.Parameter(torch.ones(2))
    opt = acc.prepare(torch.optim.SGD([param], lr=1.0))
    assert plain_optimizer(opt) is opt.optimizer  # the hook steps it without AcceleratedOptimizer's look-ups
    hook, args = OptimizerHook(), PipelineHookArgs(accelerator=acc, optimizer=opt)
    param.grad = torch.ones(2)
    acc.gradient_state.sync_gradients = False
    hook.on_step_end(args)
    assert torch.equal(param.detach(), torch.ones(2)) and param.grad is not None  # as accelerate: nothing happens
    acc.gradient_state.sync_gradients = True
    hook.on_step_end(args)
    assert torch.equal(param.detach(), torch.zeros(2)) and param.grad is None


@pytest.mark.slow  # two processes under accelerate launch, twice per case
@pytest.mark.parametrize("accumulation", [1, 3])
def test_under_ddp_the_fast_path_trains_bitwise_like_accelerate(tmp_path: Any, accumulation: int) -> None:
    import json

    from tests.helpers import launch_two

    results = {}
    for mode in ("fast", "accelerate"):
        out = tmp_path / f"{mode}.json"
        done = launch_two("tests.runtime.ddp_fastpath", str(out), mode, str(accumulation), timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        results[mode] = json.loads(out.read_text())
    assert results["fast"]["distributed"] == results["accelerate"]["distributed"] == "DistributedType.MULTI_CPU"
    assert (results["fast"]["path"], results["accelerate"]["path"]) == ("PlainPath", "AcceleratePath")
    assert results["fast"]["params"] == results["accelerate"]["params"]


@pytest.mark.parametrize("mode", ["norm", "value"])
def test_grad_clip_clips_every_group_together_and_skips_parameters_without_gradients(mode: str) -> None:
    from hookpipe.runtime.args import PipelineHookArgs
    from hookpipe.runtime.builtins.grad_clip import GradClipHook

    def setup() -> tuple[list[torch.Tensor], Any]:
        torch.manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(3)) for _ in range(3)]
        for p in params[:2]:
            p.grad = torch.randn(3) * 10
        opt = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)  # params[2] has no gradient
        return params, opt

    mine, opt = setup()
    accelerator = Accelerator(cpu=True)
    hook = GradClipHook(mode=mode, max_norm=1.0, clip_value=0.5)  # type: ignore[arg-type]
    hook.on_step_end(PipelineHookArgs(accelerator=accelerator, optimizer=opt))
    expected, _ = setup()
    if mode == "norm":
        norm = torch.nn.utils.clip_grad_norm_(expected[:2], 1.0)
        assert hook.last_norm is not None and torch.equal(hook.last_norm, norm)
    else:
        torch.nn.utils.clip_grad_value_(expected[:2], 0.5)
    for p, q in zip(mine[:2], expected[:2]):
        assert p.grad is not None and q.grad is not None and torch.equal(p.grad, q.grad)
    assert mine[2].grad is None


def _sync_trace(step: Any, accelerator: Accelerator, loader: Any, epochs: int = 2) -> list[tuple[int, bool]]:
    """(accelerator.step, sync_gradients) after each step's bookkeeping, over ``epochs`` of ``loader``."""
    accelerator.step, accelerator.gradient_state.sync_gradients = 0, True
    trace = []
    for _ in range(epochs):
        for i, _batch in enumerate(loader):
            if i == 4:  # a hook changing the accumulation mid-run is seen at the next step
                accelerator.gradient_accumulation_steps = accelerator.gradient_accumulation_steps + 1
            step()
            trace.append((accelerator.step, accelerator.gradient_state.sync_gradients))
        step()  # past the loader's end (no loader active): the counter only grows
        trace.append((accelerator.step, accelerator.gradient_state.sync_gradients))
    return trace


@pytest.mark.parametrize("accumulation", [1, 3])
@pytest.mark.parametrize("with_dataloader", [True, False])
def test_the_accumulation_step_keeps_accelerates_counter_and_flag(accumulation: int, with_dataloader: bool) -> None:
    from accelerate.utils import GradientAccumulationPlugin

    plugin = GradientAccumulationPlugin(num_steps=accumulation, sync_with_dataloader=with_dataloader)
    accelerator = Accelerator(cpu=True, gradient_accumulation_plugin=plugin)
    model, loader = accelerator.prepare(torch.nn.Linear(1, 1), torch.utils.data.DataLoader(torch.arange(14.0), batch_size=2))

    def accumulate() -> None:  # accelerate's public API: the oracle
        with accelerator.accumulate(model):
            pass

    expected = _sync_trace(accumulate, accelerator, loader)
    accelerator.gradient_accumulation_steps = accumulation
    assert _sync_trace(fastpath.accumulation_step(accelerator), accelerator, loader) == expected
    # The trace covers both branches: resets at each loader's end (only when synced with it), unsynced steps.
    assert ((0, True) in expected) is with_dataloader
    assert any(not synced for _, synced in expected)


def test_a_subclass_with_its_own_accumulate_or_sync_each_batch_gets_accelerates_path() -> None:
    from accelerate.utils import GradientAccumulationPlugin

    class Custom(Accelerator):
        def accumulate(self, *models: Any) -> Any:
            return super().accumulate(*models)

    assert isinstance(fast_path(Custom(cpu=True)), AcceleratePath)
    assert not fast_path(Custom(cpu=True)).plain
    plugin = GradientAccumulationPlugin(num_steps=2, sync_each_batch=True)
    assert not fast_path(Accelerator(cpu=True, gradient_accumulation_plugin=plugin)).plain
    assert fast_path(Accelerator(cpu=True)).plain
