"""The seed's Python API: a trainer built exactly as RoboOrchard documents it."""

from __future__ import annotations

import os.path

import pytest
import torch
from accelerate import Accelerator

from hookpipe.runtime import (
    GradientClippingHookConfig,
    HookBasedTrainer,
    HookContext,
    PipelineHookArgs,
    PipelineHooks,
    PipelineHooksConfig,
    ResumeCheckpointConfig,
    SimpleBatchProcessor,
    ValidationHookConfig,
)
from tests.runtime.hooklib import MSE, tiny_loader, tiny_model

CHANNELS = ("on_loop", "on_epoch", "on_step", "on_batch", "on_model_forward", "on_model_backward")


class CountingHooks(PipelineHooks):
    """Registers on every channel and records (channel, phase, epoch, step, global step)."""

    def __init__(self, cfg: "CountingHooksConfig") -> None:
        super().__init__()
        self.calls: list[tuple[str, str, int, int, int]] = []
        for channel in CHANNELS:
            self.register_hook(
                channel,
                HookContext.from_callable(
                    before=lambda a, c=channel: self._add(c, "begin", a),
                    after=lambda a, c=channel: self._add(c, "end", a),
                ),
            )

    def _add(self, channel: str, phase: str, a: PipelineHookArgs) -> None:
        self.calls.append((channel, phase, a.epoch_id, a.step_id, a.global_step_id))

    def ids(self, channel: str, phase: str) -> list[tuple[int, int, int]]:
        return [c[2:] for c in self.calls if c[0] == channel and c[1] == phase]


class CountingHooksConfig(PipelineHooksConfig[CountingHooks]):
    class_type: type[CountingHooks] = CountingHooks


def _trainer(hooks=None, **kwargs) -> HookBasedTrainer:
    model = kwargs.pop("model", None) or tiny_model()
    optimizer = kwargs.pop("optimizer", None) or torch.optim.SGD(model.parameters(), lr=0.01)
    return HookBasedTrainer(
        accelerator=Accelerator(cpu=True),
        model=model,
        dataloader=kwargs.pop("dataloader", None) or tiny_loader(n=10, batch_size=2),
        batch_processor=kwargs.pop("batch_processor", None) or MSE(),
        optimizer=optimizer,
        lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=100),
        hooks=hooks,
        **kwargs,
    )


def test_hooks_run_once_per_scope_with_the_seeds_ids() -> None:
    rec = CountingHooksConfig()()  # built from its config, as the seed does
    trainer = _trainer(hooks=[rec], max_epoch=2)
    trainer()
    assert rec.ids("on_loop", "begin") == [(0, 0, 0)]
    assert rec.ids("on_loop", "end") == [(2, 0, 10)]
    assert rec.ids("on_epoch", "begin") == [(0, 0, 0), (1, 0, 5)]
    assert rec.ids("on_epoch", "end") == [(0, 5, 5), (1, 5, 10)]
    expected_steps = [(e, s, e * 5 + s) for e in range(2) for s in range(5)]
    for channel in ("on_step", "on_batch", "on_model_forward", "on_model_backward"):
        assert rec.ids(channel, "begin") == expected_steps
        assert rec.ids(channel, "end") == expected_steps
    # Nesting: each step's channels open and close inside the step.
    first_step = rec.calls[2:10]
    assert [c[:2] for c in first_step] == [
        ("on_step", "begin"),
        ("on_batch", "begin"),
        ("on_model_forward", "begin"),
        ("on_model_forward", "end"),
        ("on_model_backward", "begin"),
        ("on_model_backward", "end"),
        ("on_batch", "end"),
        ("on_step", "end"),
    ]


def test_max_step_stops_mid_epoch_and_max_epoch_is_honoured() -> None:
    trainer = _trainer(max_step=7)
    trainer()
    state = trainer.trainer_progress_state
    assert (state.global_step_id, state.epoch_id) == (7, 2)
    trainer = _trainer(max_epoch=3)
    trainer()
    assert (trainer.trainer_progress_state.global_step_id, trainer.trainer_progress_state.epoch_id) == (15, 3)


def test_limits_are_required_and_positive() -> None:
    with pytest.raises(ValueError, match="max_step"):
        _trainer()
    with pytest.raises(ValueError, match="max_epoch = 0"):
        _trainer(max_epoch=0)


class HugeGradient(SimpleBatchProcessor):
    def forward(self, model, batch):
        out = model(torch.ones(1, 1))
        return out, 1e6 * out.sum()


@pytest.mark.parametrize("clip", [None, 1.0])
def test_gradients_are_clipped_before_the_optimizer_steps(clip: float | None) -> None:
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    grad_clip = GradientClippingHookConfig(clip_mode="norm", max_norm=clip) if clip else None
    trainer = _trainer(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
        batch_processor=HugeGradient(),
        max_step=1,
        grad_clip=grad_clip,
    )
    trainer()
    moved = abs(float(model.weight))
    if clip is None:
        assert moved == pytest.approx(1e6)
    else:
        assert moved == pytest.approx(1.0, rel=1e-5)
    # The defaults are registered in the seed's order: clipping, then the optimizer.
    names = [type(ctx.after_info.owner).__name__ for ctx in trainer.hooks.hooks["on_step"].contexts]
    assert names == (["GradientClippingHook", "OptimizerHook"] if clip else ["OptimizerHook"])  # as the seed prints them


def test_validation_runs_at_its_step_and_epoch_frequencies_in_eval_mode() -> None:
    seen: list[tuple[bool, int]] = []
    holder: dict[str, HookBasedTrainer] = {}

    def evaluate() -> None:
        t = holder["t"]
        seen.append((t.model.training, t.trainer_progress_state.global_step_id))

    trainer = _trainer(
        max_epoch=2, validation=ValidationHookConfig(eval_callback=evaluate, step_eval_freq=3, epoch_eval_freq=1)
    )
    holder["t"] = trainer
    trainer()
    # step ends at global ids 2, 5, 8 ((id + 1) % 3 == 0), epoch ends after 5 and 10 steps.
    assert [g for _, g in seen] == [2, 5, 5, 8, 10]
    assert not any(training for training, _ in seen)
    assert trainer.model.training


def test_a_failed_batch_skips_the_optimizer_step() -> None:
    model = tiny_model()
    trainer = _trainer(model=model, batch_processor=MSE(fail_at=2), max_step=5)
    snapshots: list[torch.Tensor] = []
    trainer.hooks.register_hook(
        "on_step", HookContext.from_callable(after=lambda a: snapshots.append(model[0].weight.detach().clone()))
    )
    before = model[0].weight.detach().clone()
    with pytest.raises(ValueError, match="bad batch"):
        trainer()
    assert len(snapshots) == 2  # steps 0 and 1 finished; step 2's after-callbacks did not run
    assert torch.equal(model[0].weight, snapshots[-1]) and not torch.equal(before, snapshots[-1])


def evaluation_callback() -> None:
    """Module-level, so a config naming it serialises."""


@pytest.mark.parametrize("fmt", ["json", "yaml", "toml"])
def test_configs_round_trip_through_to_str_and_from_str(fmt: str) -> None:
    configs = [
        GradientClippingHookConfig(clip_mode="value", clip_value=0.5),
        ValidationHookConfig(eval_callback=evaluation_callback, epoch_eval_freq=2),
        ResumeCheckpointConfig(resume_from=os.path.join("runs", "x", "step-00000010")),
    ]
    for cfg in configs:
        back = type(cfg).from_str(cfg.to_str(format=fmt), format=fmt)
        assert back == cfg
        assert back.to_str(format=fmt) == cfg.to_str(format=fmt)
    assert GradientClippingHookConfig.from_str(configs[0].to_str())().clip.clip_value == 0.5


def test_config_validation_matches_the_seed() -> None:
    with pytest.raises(ValueError, match="max_norm"):
        GradientClippingHookConfig(clip_mode="norm")
    with pytest.raises(ValueError, match="step_eval_freq"):
        ValidationHookConfig(eval_callback=evaluation_callback)
