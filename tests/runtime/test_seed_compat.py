"""RoboOrchard Lab 0.4.0's trainer and hooks, behaviour by behaviour (no second venv needed).

``tests/compat`` runs the same things against the real package; these pin each
behaviour on hookpipe alone, so CI without that venv still guards them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, TensorDataset

from hookpipe.runtime import (
    ClearCacheHookConfig,
    GradientClippingHookConfig,
    HookBasedTrainer,
    LossTrackerConfig,
    MetricEntry,
    MetricTrackerConfig,
    ModelOutput,
    ModelOutputHasLossKeys,
    ResumeCheckpointConfig,
    SaveCheckpointConfig,
    SaveModelConfig,
    StatsMonitorConfig,
    ValidationHookConfig,
)
from hookpipe.runtime.loop.progress import TrainerProgressState
from tests.runtime.hooklib import MSE, tiny_loader, tiny_model


def _trainer(**kwargs: Any) -> HookBasedTrainer:
    model = kwargs.pop("model", None) or tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return HookBasedTrainer(
        accelerator=kwargs.pop("accelerator", None) or Accelerator(cpu=True),
        model=model,
        dataloader=kwargs.pop("dataloader") if "dataloader" in kwargs else tiny_loader(n=10, batch_size=2),
        batch_processor=kwargs.pop("batch_processor", None) or MSE(),
        optimizer=optimizer,
        lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=100),
        **kwargs,
    )


def test_eval_callback_gets_the_model_and_eval_at_begin_runs_first() -> None:
    seen: list[tuple[bool, bool]] = []
    holder: dict[str, HookBasedTrainer] = {}

    def evaluate(model: torch.nn.Module) -> None:
        seen.append((model is holder["t"].model, model.training))

    cfg = ValidationHookConfig(eval_callback=evaluate, epoch_eval_freq=1, eval_at_begin=True)
    holder["t"] = trainer = _trainer(max_epoch=2, validation=cfg)
    hook = next(ctx.before_info.owner for ctx in trainer.hooks.hooks["on_loop"].contexts)
    assert hook.cfg == cfg
    trainer()
    assert seen == [(True, False)] * 3  # the start, then each epoch's end; in eval mode


def test_gradient_clipping_hook_has_the_seeds_attributes() -> None:
    hook = GradientClippingHookConfig(clip_mode="norm", max_norm=0.5, norm_type=1.0)()
    assert (hook.clip_mode, hook.max_norm, hook.clip_value, hook.norm_type) == ("norm", 0.5, None, 1.0)
    hook.max_norm = 0.25  # the seed's attributes are the ones the clipping reads
    assert hook.clip.max_norm == 0.25


def test_a_missing_resume_folder_is_the_seeds_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checkpoint folder not found"):
        _trainer(max_step=1, resume_from=ResumeCheckpointConfig(resume_from=str(tmp_path / "nope")))


def test_an_empty_dataloader_runs_empty_epochs_under_max_epoch() -> None:
    empty = DataLoader(TensorDataset(torch.zeros(0, 4), torch.zeros(0, 1)), batch_size=2)
    ends: list[int] = []
    cfg = ValidationHookConfig(eval_callback=lambda m: ends.append(0), epoch_eval_freq=1)
    trainer = _trainer(max_epoch=3, dataloader=empty, validation=cfg)
    trainer()
    assert len(ends) == 3 and trainer.trainer_progress_state.epoch_id == 3
    assert trainer.trainer_progress_state.global_step_id == 0
    with pytest.raises(RuntimeError, match="no max_epoch, so it would never end"):
        _trainer(max_step=3, dataloader=empty)()


def test_the_trainer_logs_the_seeds_lines(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        _trainer(max_step=2)()
    lines = [r.getMessage() for r in caplog.records if r.name == "robo_orchard_lab.pipeline.hook_based_trainer"]
    assert [line.split("] ", 1)[-1] for line in lines] == [
        "\n" + "=" * 50 + "BEGIN TRAINING" + "=" * 50,
        "Start training loop from epoch 0 and step 0",
        "\n" + "=" * 50 + "FINISH TRAINING" + "=" * 50,
    ]


def test_reduce_loss_is_the_loss_on_one_process() -> None:
    losses: list[float] = []
    trainer = _trainer(max_step=2)
    from hookpipe.runtime import HookContext

    trainer.hooks.register_hook("on_step", HookContext.from_callable(after=lambda a: losses.append(float(a.reduce_loss))))
    trainer()
    assert len(losses) == 2 and all(v > 0 for v in losses)


@pytest.mark.parametrize("average", [True, False])
def test_average_loss_decides_whether_reduce_loss_is_the_mean_over_processes(
        monkeypatch: pytest.MonkeyPatch, average: bool) -> None:
    from hookpipe.runtime import PipelineHookArgs, PipelineHooks

    acc = Accelerator(cpu=True)
    monkeypatch.setattr(Accelerator, "num_processes", property(lambda self: 2))  # as one of two ranks
    reduced: list[torch.Tensor] = []
    monkeypatch.setattr(acc, "reduce", lambda t, reduction: reduced.append(t) or torch.tensor(-1.0))
    model = tiny_model()
    proc = MSE()
    proc.average_loss = average  # public: MSE's own constructor does not take it
    args = PipelineHookArgs(accelerator=acc, batch=next(iter(tiny_loader())))
    proc(PipelineHooks(), args, model)
    assert (len(reduced), float(args.reduce_loss) == -1.0) == ((1, True) if average else (0, False))


def test_progress_pickles_the_seeds_three_keys_and_hookpipe_writes_its_position_beside(tmp_path: Path) -> None:
    save = tmp_path / "ckpt"
    trainer = _trainer(max_step=3, hooks=[SaveCheckpointConfig(save_root=str(save), save_step_freq=3,
                                                               save_epoch_freq=None, save_when_loop_end=False)])
    trainer()
    pickled = torch.load(save / "custom_checkpoint_0.pkl", weights_only=True)
    assert pickled == {"epoch_id": 0, "step_id": 2, "global_step_id": 2}  # where the seed's SaveCheckpoint ran
    position = json.loads((save / "hookpipe-progress.json").read_text())
    assert (position["epoch_id"], position["step_id"], position["global_step_id"]) == (0, 3, 3)
    assert (save / "model" / "model.safetensors").exists() and not (tmp_path / "ckpt.partial").exists()
    resumed = _trainer(max_step=5, resume_from=ResumeCheckpointConfig(resume_from=str(save)))
    assert (resumed._start_epoch, resumed._start_step) == (0, 3)
    seed_way = _trainer(max_step=5, resume_from=ResumeCheckpointConfig(resume_from=str(save), seed_resume=True))
    assert (seed_way._start_epoch, seed_way._start_step, seed_way._skip_batches) == (0, 2, 0)


@pytest.mark.parametrize(
    ("saved", "counter", "expected"),
    [
        ((1, 2, 7), 3, (1, 3, 8)),  # step.after inside the epoch: the counter is step_id + 1
        ((1, 4, 9), 0, (2, 0, 10)),  # step.after on the epoch's last batch (5 per epoch)
        ((1, 5, 10), 0, (2, 0, 10)),  # epoch.after: step_id is the epoch's length
        ((2, 0, 10), 0, (2, 0, 10)),  # loop.after: the epoch already advanced
    ],
)
def test_a_seed_record_becomes_the_next_steps_position(saved: tuple[int, int, int], counter: int,
                                                        expected: tuple[int, int, int]) -> None:
    state = TrainerProgressState()
    state.load_state_dict(dict(zip(("epoch_id", "step_id", "global_step_id"), saved)))
    state.infer_position(counter, per_epoch=5, accumulation=1)
    assert (state.epoch_id, state.step_id, state.global_step_id) == expected
    with pytest.raises(KeyError, match="update_count"):
        state.load_state_dict({"epoch_id": 0, "update_count": 1})  # the seed's loader refuses other keys too


def test_save_model_writes_the_seeds_layout(tmp_path: Path) -> None:
    _trainer(max_epoch=1, hooks=[SaveModelConfig(save_root=str(tmp_path), save_step_freq=2)])()
    # steps 2 and 4 (ids 1, 3), then the epoch's end (5 steps): the loop end repeats that step, so it is skipped
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model_epoch_0_step_1", "model_epoch_0_step_3", "model_epoch_0_step_5"]
    assert (tmp_path / "model_epoch_0_step_1" / "0" / "model.safetensors").exists()


class _Outputs(dict):
    def loss_keys(self) -> list[str]:
        return ["mse"]


def test_model_output_protocols_and_loss_keys(caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance({"loss": 1}, ModelOutput) and not isinstance({"loss": 1}, ModelOutputHasLossKeys)
    assert isinstance(_Outputs(), ModelOutputHasLossKeys)

    class Named(MSE):
        def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
            out, loss = super().forward(model, batch)
            return _Outputs(mse=loss.detach(), other_loss=loss.detach() * 0), loss

    with caplog.at_level(logging.INFO):
        _trainer(max_step=2, batch_processor=Named(), hooks=[LossTrackerConfig(step_log_freq=2)])()
    lines = [r.getMessage() for r in caplog.records if r.name == "robo_orchard_lab.pipeline.hooks.loss_tracker"]
    assert len(lines) == 1 and "mse[" in lines[0] and "other_loss" not in lines[0]


class _Count:
    """A metric with the protocol MetricTracker needs."""

    def __init__(self) -> None:
        self.n = 0
        self.resets = 0

    def update(self, *args: Any) -> None:
        self.n += 1

    def compute(self) -> int:
        return self.n

    def reset(self) -> None:
        self.n, self.resets = 0, self.resets + 1

    def to(self, **kwargs: Any) -> "_Count":
        return self


def test_metric_tracker_updates_logs_and_resets_on_the_seeds_schedule(caplog: pytest.LogCaptureFixture) -> None:
    from hookpipe.runtime import MetricTracker

    class Counting(MetricTracker):
        def update_metric(self, batch: Any, model_outputs: Any) -> None:
            self.metrics[0].update()

    metric = _Count()
    cfg = MetricTrackerConfig(class_type=Counting, metric_entrys=MetricEntry("batches", metric), step_log_freq=2,
                              reset_by="step", reset_freq=4)
    with caplog.at_level(logging.INFO):
        _trainer(max_epoch=1, hooks=[cfg])()
    lines = [r.getMessage() for r in caplog.records if r.name == "robo_orchard_lab.pipeline.hooks.metric"]
    assert lines == ["Epoch[0] Step[1] GlobalStep[1]: batches[2.0000] ", "Epoch[0] Step[3] GlobalStep[3]: batches[4.0000] ",
                     "Epoch[0]: batches[1.0000] "]
    assert metric.resets == 2  # at construction and after step 4 (reset_by step: not at the epoch end)


def test_configs_serialise_with_the_config_type_and_validate_like_the_seed() -> None:
    for cfg in (SaveCheckpointConfig(save_root="r", save_step_freq=2), StatsMonitorConfig(step_log_freq=3),
                ClearCacheHookConfig(empty_cache_at="step"), LossTrackerConfig(step_log_freq=3)):
        text = cfg.to_str(format="json")
        assert json.loads(text)["__config_type__"].endswith(type(cfg).__name__)
        assert type(cfg).from_str(text, format="json") == cfg
    with pytest.raises(ValueError, match="Both cannot be None"):
        SaveCheckpointConfig(save_root="r", save_epoch_freq=None)
    with pytest.raises(ValueError, match="save_step_freq = 0 < 1 is not allowed"):
        SaveModelConfig(save_root="r", save_step_freq=0)
    with pytest.raises(ValueError):
        LossTrackerConfig(step_log_freq=0)
    assert SaveCheckpointConfig(save_root="r", not_a_field=1).save_root == "r"  # unknown fields ignored, as in the seed


def test_every_catalog_entry_names_a_seed_config_built_on_its_fields() -> None:
    from hookpipe.compiler.catalog import SEED_HOOK_TYPES
    from hookpipe.runtime import PipelineHooksConfig
    from hookpipe.runtime import hooks as seed_hooks
    from hookpipe.runtime.plan.resolve import import_path

    for hook_type in SEED_HOOK_TYPES:
        config = import_path(hook_type.implementation)
        assert issubclass(config, PipelineHooksConfig)
        assert issubclass(config, hook_type.schema.__mro__[1])  # the fields the compiler checks with
        assert getattr(seed_hooks, f"{hook_type.name}Config") is config


def test_simple_trainer_warns_and_evaluates_its_metric_on_the_step_schedule() -> None:
    from hookpipe.runtime import SimpleTrainer

    class Counting:
        def __init__(self) -> None:
            self.batches, self.computed = 0, 0

        def update(self, batch: Any, outputs: Any) -> None:
            self.batches += 1

        def compute(self) -> int:
            self.computed += 1
            return self.batches

        def reset(self) -> None:
            self.batches = 0

    class FirstOfBatch(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = tiny_model()

        def forward(self, batch: Any) -> torch.Tensor:
            return self.inner(batch[0] if isinstance(batch, (list, tuple)) else batch)

    metric = Counting()
    model = FirstOfBatch()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.warns(DeprecationWarning, match=r"Call to deprecated class SimpleTrainer\. .*since version 0\.2\.0"):
        trainer = SimpleTrainer(model=model, accelerator=Accelerator(cpu=True), batch_processor=MSE(),
                                dataloader=tiny_loader(n=10, batch_size=2), optimizer=optimizer,
                                lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=100), max_step=6,
                                val_dataloader=tiny_loader(n=4, batch_size=2), metric=metric, step_eval_freq=3,
                                grad_clip_mode="value", grad_clip_value=0.1)
    trainer()
    assert metric.computed == 2 and metric.batches == 0  # after steps 3 and 6, reset after each
    assert trainer.eval() == 2 and model.training
    with pytest.warns(DeprecationWarning), pytest.raises(AssertionError, match="lr_scheduler_step_at is deprecated"):
        SimpleTrainer(model=model, accelerator=Accelerator(cpu=True), batch_processor=MSE(), dataloader=[],
                      optimizer=optimizer, lr_scheduler=None, lr_scheduler_step_at="epoch")  # type: ignore[arg-type]


def test_a_validation_hook_subclass_overriding_evaluate_is_called_with_the_hook_args() -> None:
    from hookpipe.runtime import PipelineHookArgs, ValidationHook

    seen: list[tuple[int, int]] = []

    class Recording(ValidationHook):
        def evaluate(self, hook_args: PipelineHookArgs) -> None:
            seen.append((hook_args.epoch_id, hook_args.global_step_id))

    cfg = ValidationHookConfig(class_type=Recording, eval_callback=lambda m: None, step_eval_freq=2,
                               eval_at_begin=True)
    _trainer(max_step=5, validation=cfg)()
    assert seen == [(0, 0), (0, 1), (0, 3)]


def test_print_hooks_shows_each_channel_and_callback_under_the_seeds_names() -> None:
    trainer = _trainer(max_step=1, grad_clip=GradientClippingHookConfig(clip_mode="norm", max_norm=1.0),
                       hooks=[SaveCheckpointConfig(save_root="unused", save_step_freq=10)])
    text = repr(trainer.hooks)
    assert text.startswith("<hookpipe.runtime.hooks.mixin.PipelineHooks(\n  hooks={\n    on_loop: <robo_orchard_core")
    for name in ("GradientClippingHook", "._gradient_clipping", "OptimizerHook", "._optimizer_step",
                 "SaveCheckpoint", "._on_step_end", "._on_epoch_end", "._on_loop_end"):
        assert name in text
    assert "on_batch" not in text  # empty channels are left out, as in the seed


def test_patching_the_checkpoint_modules_logger_captures_the_seeds_call(tmp_path: Path) -> None:
    from unittest import mock

    import hookpipe.runtime.hooks.checkpoint as checkpoint_module
    from hookpipe.runtime import PipelineHookArgs

    hook = SaveCheckpointConfig(save_root=str(tmp_path / "ckpt"), save_step_freq=2)()
    accelerator = Accelerator(cpu=True)
    with mock.patch("hookpipe.runtime.hooks.checkpoint.logger") as logged:
        assert checkpoint_module.logger is logged
        with hook.begin("on_step", PipelineHookArgs(accelerator=accelerator, global_step_id=1)):
            pass
    logged.info.assert_called_once_with(f"Save checkpoint at the end of step 1 to {tmp_path / 'ckpt'}")


def test_the_rng_file_holds_numpys_state_in_plain_values(tmp_path: Path) -> None:
    import numpy

    hook = SaveCheckpointConfig(save_root=str(tmp_path / "ckpt"), save_step_freq=1)()
    from hookpipe.runtime import PipelineHookArgs

    with hook.begin("on_step", PipelineHookArgs(accelerator=Accelerator(cpu=True))):
        pass
    states = torch.load(tmp_path / "ckpt" / "random_states_0.pkl", weights_only=True)
    name, key, pos, has_gauss, cached = states["numpy_random_seed"]
    assert name == "MT19937" and type(key) is list and len(key) == 624 and all(type(k) is int for k in key)
    numpy.random.set_state(states["numpy_random_seed"])
    assert numpy.random.get_state()[1].tolist() == key and numpy.random.get_state()[2] == pos
    assert (has_gauss, cached) == tuple(numpy.random.get_state()[3:])


def test_restore_problem_says_why_and_leaves_the_generators_alone() -> None:
    import random

    import numpy

    from hookpipe.runtime.checkpoints.random_state import restore_problem

    random.seed(1), numpy.random.seed(1), torch.manual_seed(1)
    states = {"random_state": random.getstate(), "numpy_random_seed": numpy.random.get_state(),
              "torch_manual_seed": torch.get_rng_state()}
    random.seed(2), numpy.random.seed(2), torch.manual_seed(2)
    expected = (random.random(), numpy.random.rand(), torch.rand(1).item())
    random.seed(2), numpy.random.seed(2), torch.manual_seed(2)
    assert restore_problem(states) is None
    assert restore_problem({**states, "torch_manual_seed": torch.zeros(3, dtype=torch.uint8)}) is not None
    assert restore_problem({k: v for k, v in states.items() if k != "random_state"}) == "it has no 'random_state' entry"
    assert (random.random(), numpy.random.rand(), torch.rand(1).item()) == expected  # untouched by the checks


def test_metric_tracker_moves_its_metrics_to_the_device_when_loop_before_did_not_run() -> None:
    """A resume from hookpipe's checkpoint skips loop.before: the first batch places the metrics instead."""
    from types import SimpleNamespace

    from hookpipe.runtime import MetricTracker

    moved: list[Any] = []

    class Placed(_Count):
        def to(self, **kwargs: Any) -> "Placed":
            moved.append(kwargs["device"])
            return self

    class Counting(MetricTracker):
        def update_metric(self, batch: Any, model_outputs: Any) -> None:
            self.metrics[0].update()

    metric = Placed()
    tracker = MetricTrackerConfig(class_type=Counting, metric_entrys=MetricEntry("batches", metric))()
    args = SimpleNamespace(accelerator=SimpleNamespace(device="cuda:3"), batch=None, model_outputs={"loss": 0.0})
    with tracker.begin("on_batch", args):  # type: ignore[arg-type]
        pass
    with tracker.begin("on_batch", args):  # type: ignore[arg-type]
        pass
    assert moved == ["cuda:3"] and metric.n == 2
