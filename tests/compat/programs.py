"""RoboOrchard Lab-style programs, run unchanged on RoboOrchard Lab 0.4.0 or on hookpipe.

``python tests/compat/programs.py --impl seed|hookpipe --program PROGRAM --out DIR [--resume CKPT]``
writes ``DIR/result.json``. Only :func:`load_api` differs between the
implementations, as in a project switching over. The programs:

* ``project``: a project ``train.py`` on the deprecated ``SimpleTrainer`` (flat
  arguments, ``val_dataloader`` with a ``metric``, clipping, a dropout model, a
  ``SaveCheckpoint``); with ``--resume`` it resumes from ``CKPT`` (``resume_from=``).
* ``tutorial``: the trainer tutorials' pattern on ``HookBasedTrainer``: accelerate's
  automatic checkpoint naming, the built-in hooks, a custom ``PipelineHooks``, a
  ``ValidationHook`` subclass overriding ``evaluate(hook_args)``, and
  ``print(trainer.hooks)``.
* ``loggers``: the seed's own tests' way of checking log lines: the hook modules'
  ``logger`` patched with a mock, hooks driven with a mock accelerator.
* ``surface``: the parameters of every public method of the seed's hook classes
  and trainers.

Run by ``tests/compat/test_programs.py`` in each implementation's own venv.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import logging
import os
import re
import sys
import warnings
from types import ModuleType, SimpleNamespace
from typing import Any
from unittest import mock

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration
from torch.utils.data import DataLoader, TensorDataset

SEED_MODULES = ("checkpoint", "metric", "stats", "loss_tracker", "memory", "grad_clip", "optimizer", "validation",
                "mixin")


def load_api(impl: str) -> SimpleNamespace:
    """The trainer API: the only lines that change between the implementations."""
    if impl == "seed":
        import robo_orchard_lab.pipeline.hooks as hooks
        from robo_orchard_lab.pipeline import SimpleTrainer
        from robo_orchard_lab.pipeline.batch_processor import SimpleBatchProcessor
        from robo_orchard_lab.pipeline.hook_based_trainer import HookBasedTrainer

        root = "robo_orchard_lab.pipeline.hooks"
    else:
        import hookpipe.runtime.hooks as hooks
        from hookpipe.runtime import HookBasedTrainer, SimpleBatchProcessor, SimpleTrainer

        root = "hookpipe.runtime.hooks"
    modules = {name: __import__(f"{root}.{name}", fromlist=["logger"]) for name in SEED_MODULES}
    return SimpleNamespace(hooks=hooks, modules=modules, HookBasedTrainer=HookBasedTrainer,
                           SimpleTrainer=SimpleTrainer, SimpleBatchProcessor=SimpleBatchProcessor)


class Records(logging.Handler):
    """Log records of the seed's loggers and accelerate's checkpointing, times blanked out."""

    def __init__(self, out: str) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.records: list[list[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("robo_orchard_lab", "accelerate.checkpointing", "hookpipe", "tutorial")):
            return
        text = record.getMessage().replace(self.out, "<out>")
        if record.name.endswith(".stats"):
            text = re.sub(r"\d+(\.\d+)?(e[-+]\d+)?|\d+:\d\d:\d\d|N/A", "#", text)
        self.records.append([record.name, record.levelname, text, record.filename])


def data(n: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5], [0.25]]) + 0.1 * torch.randn(n, 1, generator=g)


def dropout_model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(16, 1))


def regression(api: SimpleNamespace) -> Any:
    class Regression(api.SimpleBatchProcessor):  # type: ignore[misc,name-defined]
        def forward(self, model: Any, batch: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            pred = model(batch[0])
            loss = torch.nn.functional.mse_loss(pred, batch[1])
            return {"pred": pred, "loss": loss}, loss

    return Regression()


def loss_recorder(api: SimpleNamespace, losses: list[float]) -> Any:
    h = api.hooks

    class LossRecorder(h.PipelineHooks):
        def __init__(self) -> None:
            super().__init__()
            self.register_hook("on_step", h.HookContext.from_callable(after=self._on_step_end))

        def _on_step_end(self, args: Any) -> None:
            losses.append(float(args.reduce_loss.detach()))

    return LossRecorder()


class MSEMetric:
    """A project's metric object for ``SimpleTrainer(metric=...)``: update, compute, reset."""

    def __init__(self, computed: list[float]) -> None:
        self.computed = computed
        self.reset()

    def update(self, batch: Any, model_outputs: torch.Tensor) -> None:
        self.total += float(torch.nn.functional.mse_loss(model_outputs, batch[1], reduction="sum"))
        self.count += len(batch[1])

    def compute(self) -> float:
        value = self.total / self.count
        self.computed.append(value)
        return value

    def reset(self) -> None:
        self.total, self.count = 0.0, 0


class ValSet(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __init__(self) -> None:
        self.x, self.y = data(8)

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


class FeaturesFirst(torch.nn.Module):
    """The validation batches are ``(x, y)``; the trained model takes ``x``: a project's wrapper."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, batch: Any) -> torch.Tensor:
        return self.inner(batch[0] if isinstance(batch, (tuple, list)) else batch)


def project(api: SimpleNamespace, out: str, resume: str | None, result: dict[str, Any]) -> Any:
    """A project ``train.py`` on ``SimpleTrainer``."""
    h = api.hooks
    torch.manual_seed(0)
    x, y = data()
    model = FeaturesFirst(dropout_model())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses: list[float] = []
    computed: list[float] = []
    result.update(losses=losses, evaluations=computed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = api.SimpleTrainer(
            model=model,
            accelerator=Accelerator(cpu=True),
            batch_processor=regression(api),
            dataloader=DataLoader(TensorDataset(x, y), batch_size=4),
            optimizer=optimizer,
            lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5),
            max_epoch=2,
            val_dataloader=DataLoader(ValSet(), batch_size=4),
            metric=MSEMetric(computed),
            step_eval_freq=4,
            resume_from=resume,
            grad_clip_mode="norm",
            grad_max_norm=0.5,
            hooks=[loss_recorder(api, losses), h.LossTrackerConfig(step_log_freq=3),
                   h.SaveCheckpointConfig(save_root=os.path.join(out, "save", "ckpt"), save_step_freq=8,
                                          save_epoch_freq=None, save_when_loop_end=False)],
        )
    result["warnings"] = [[w.category.__name__, str(w.message)] for w in caught
                          if issubclass(w.category, DeprecationWarning) and "SimpleTrainer" in str(w.message)]
    return trainer


def tutorial(api: SimpleNamespace, out: str, resume: str | None, result: dict[str, Any]) -> Any:
    """The tutorials' pattern: automatic checkpoint naming, built-in hooks, a custom hook, print(trainer.hooks)."""
    h = api.hooks
    log = logging.getLogger("tutorial")
    evaluated: list[list[int]] = []
    losses: list[float] = []
    result.update(losses=losses, evaluated=evaluated)

    class EpochLogger(h.PipelineHooks):
        """A custom hook as tutorial 3 writes one: callbacks registered per channel."""

        def __init__(self, cfg: Any) -> None:
            super().__init__()
            self.cfg = cfg
            self.register_hook("on_epoch", h.HookContext.from_callable(before=self._begin, after=self._end))

        def _begin(self, args: Any) -> None:
            log.info(f"{self.cfg.prefix} epoch {args.epoch_id} begins at step {args.global_step_id}")

        def _end(self, args: Any) -> None:
            log.info(f"{self.cfg.prefix} epoch {args.epoch_id} ends at step {args.global_step_id}")

    class EpochLoggerConfig(h.PipelineHooksConfig[EpochLogger]):  # type: ignore[misc,name-defined]
        class_type: type[EpochLogger] = EpochLogger
        prefix: str = "[tutorial]"

    class RecordingValidation(h.ValidationHook):
        """Overrides the seed's public ``evaluate(hook_args)``."""

        def evaluate(self, hook_args: Any) -> None:
            evaluated.append([hook_args.epoch_id, hook_args.global_step_id])
            super().evaluate(hook_args)

    class MSETracker(h.MetricTracker):
        def update_metric(self, batch: Any, model_outputs: Any) -> None:
            self.metrics[0].update(model_outputs["pred"].detach(), batch[1])

    import torchmetrics

    torch.manual_seed(0)
    x, y = data()
    model = dropout_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    workspace = os.path.join(out, "save", "workspace")
    accelerator = Accelerator(cpu=True, project_config=ProjectConfiguration(
        project_dir=workspace, logging_dir=os.path.join(workspace, "logs"), automatic_checkpoint_naming=True,
        total_limit=2))

    def evaluate(m: torch.nn.Module) -> None:
        with torch.no_grad():
            log.info(f"val mse {float(torch.nn.functional.mse_loss(m(x[:8]), y[:8])):.6f}")

    trainer = api.HookBasedTrainer(
        accelerator=accelerator,
        model=model,
        dataloader=DataLoader(TensorDataset(x, y), batch_size=6),
        batch_processor=regression(api),
        optimizer=optimizer,
        lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5),
        max_epoch=3,
        hooks=[
            loss_recorder(api, losses),
            EpochLoggerConfig(),
            h.StatsMonitorConfig(step_log_freq=4),
            h.LossTrackerConfig(step_log_freq=2),
            h.MetricTrackerConfig(class_type=MSETracker,
                                  metric_entrys=h.MetricEntry("mse", torchmetrics.MeanSquaredError()),
                                  step_log_freq=4),
            h.SaveCheckpointConfig(save_step_freq=5),
        ],
        grad_clip=h.GradientClippingHookConfig(clip_mode="value", clip_value=0.2),
        validation=h.ValidationHookConfig(class_type=RecordingValidation, eval_callback=evaluate, step_eval_freq=5,
                                          eval_at_begin=True),
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        print(trainer.hooks)
    result["hook_tree"] = normalise_tree(printed.getvalue())
    return trainer


def normalise_tree(text: str) -> list[str]:
    """``print(trainer.hooks)`` without what differs between any two runs (ids, addresses, paths, lines)."""
    text = re.sub(r"\(id=\d+\)", "(id=#)", text)
    text = re.sub(r" at 0x[0-9a-f]+", "", text)
    text = re.sub(r" from \S*?([^/\s]+):\d+", r" from \1", text)
    text = text.replace("robo_orchard_lab.pipeline.", "PKG.").replace("hookpipe.runtime.", "PKG.")
    return text.splitlines()


def loggers(api: SimpleNamespace, out: str, result: dict[str, Any]) -> None:
    """The seed's tests' pattern: patch ``<hooks module>.logger``, drive the hooks, read the mock's calls."""
    import time

    h = api.hooks
    mods: dict[str, ModuleType] = api.modules
    accelerator = mock.MagicMock(spec=Accelerator)
    accelerator.project_configuration = mock.MagicMock(automatic_checkpoint_naming=True)
    accelerator.save_state = mock.MagicMock(return_value="mock_checkpoint_path")
    accelerator._models = []
    accelerator.is_main_process = True
    accelerator.num_processes = 2
    calls: dict[str, list[str]] = {}
    args_of = h.PipelineHookArgs
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    loader = mock.MagicMock(batch_size=8)
    loader.__len__.return_value = 10

    with mock.patch.object(mods["checkpoint"], "logger") as logged:
        save = h.SaveCheckpointConfig(save_root="checkpoints", save_step_freq=2, save_epoch_freq=1)()
        for step in range(4):
            with save.begin("on_step", args_of(accelerator=accelerator, global_step_id=step, step_id=step)):
                pass
        with save.begin("on_epoch", args_of(accelerator=accelerator, epoch_id=0, global_step_id=4)):
            pass
        with save.begin("on_loop", args_of(accelerator=accelerator, global_step_id=4)):
            pass
        calls["checkpoint"] = [str(c) for c in logged.mock_calls]
        calls["save_state"] = [str(c) for c in accelerator.save_state.mock_calls]

    with mock.patch.object(mods["stats"], "logger") as logged:
        monitor = h.StatsMonitorConfig(step_log_freq=2, epoch_log_freq=1)()
        loop = args_of(accelerator=accelerator, dataloader=loader, max_epoch=3, optimizer=optimizer)
        epoch = args_of(accelerator=accelerator, dataloader=loader, max_epoch=3, optimizer=optimizer)
        with monitor.begin("on_loop", loop), monitor.begin("on_epoch", epoch):
            for step in range(4):
                with monitor.begin("on_step", args_of(accelerator=accelerator, dataloader=loader, max_epoch=3,
                                                      optimizer=optimizer, global_step_id=step, step_id=step)):
                    time.sleep(0.001)
            epoch.global_step_id, epoch.step_id = 4, 3
        calls["stats"] = [re.sub(r"\d+(\.\d+)?(e[-+]\d+)?|\d+:\d\d:\d\d|N/A", "#", str(c)) for c in logged.mock_calls]
        calls["remaining"] = [repr(monitor._estimate_remaining_time(2.0, s, 0, 0, 0, m, e, p))
                              for s, m, e, p in [(50, 1000, 10, 100), (5, 10, None, None), (9, 10, None, None),
                                                 (3, None, 2, None), (3, None, 2, 4), (20, 30, 2, 4)]]
    result["calls"] = calls


def surface(api: SimpleNamespace, result: dict[str, Any]) -> None:
    """Every public method's parameters (name, kind, default) of the seed's hook classes and trainers."""
    found: dict[str, list[list[str]]] = {}
    classes: list[tuple[str, type]] = [("SimpleTrainer", api.SimpleTrainer), ("HookBasedTrainer", api.HookBasedTrainer)]
    for name, module in api.modules.items():
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isclass(obj) and not attr.endswith("Config") and attr not in ("ClassType", "HookContext"):
                classes.append((f"{name}.{attr}", obj))
    for label, cls in classes:
        for attr, value in inspect.getmembers(cls):
            if (attr.startswith("_") and attr != "__init__") or not callable(value) or inspect.isclass(value):
                continue
            try:
                params = inspect.signature(value).parameters.values()
            except (TypeError, ValueError):
                continue
            found[f"{label}.{attr}"] = [[p.name, p.kind.name, "" if p.default is p.empty else repr(p.default)]
                                        for p in params]
    result["surface"] = found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=("seed", "hookpipe"), required=True)
    parser.add_argument("--program", choices=("project", "tutorial", "loggers", "surface"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--resume", default=None)
    opts = parser.parse_args()
    os.makedirs(opts.out, exist_ok=True)
    records = Records(opts.out)
    logging.getLogger().addHandler(records)
    logging.getLogger().setLevel(logging.INFO)
    api = load_api(opts.impl)
    result: dict[str, Any] = {}
    if opts.program == "loggers":
        loggers(api, opts.out, result)
    elif opts.program == "surface":
        surface(api, result)
    else:
        trainer = (project if opts.program == "project" else tutorial)(api, opts.out, opts.resume, result)
        trainer()
        save = os.path.join(opts.out, "save")
        result["files"] = sorted(os.path.relpath(os.path.join(d, f), save) for d, _, fs in os.walk(save) for f in fs)
        model = trainer.accelerator.unwrap_model(trainer.model)
        result["params"] = {k: v.tolist() for k, v in model.state_dict().items()}
        result["logs"] = records.records
    with open(os.path.join(opts.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
