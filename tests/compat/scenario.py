"""One training scenario, run unchanged on RoboOrchard Lab 0.4.0 or on hookpipe.

``python tests/compat/scenario.py --impl seed|hookpipe --case CASE --out DIR``
writes ``DIR/result.json``: the loss of every step, the final parameters, every
hook call with its ids, the files under ``DIR/save``, validation and metric
values, and the log records of the seed's loggers. Only :func:`load_api` differs
between the two implementations, as it would in a project switching over. Run by
``tests/compat/test_differential.py`` in each implementation's own venv.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from types import SimpleNamespace
from typing import Any

import torch
import torchmetrics
from accelerate import Accelerator
from torch.utils.data import DataLoader, TensorDataset


def load_api(impl: str) -> SimpleNamespace:
    """The trainer API: the only lines that change between the implementations."""
    if impl == "seed":
        from robo_orchard_lab.pipeline import hooks
        from robo_orchard_lab.pipeline.batch_processor import SimpleBatchProcessor
        from robo_orchard_lab.pipeline.hook_based_trainer import HookBasedTrainer, ResumeCheckpointConfig
    else:
        from hookpipe.runtime import HookBasedTrainer, ResumeCheckpointConfig, SimpleBatchProcessor, hooks
    return SimpleNamespace(hooks=hooks, HookBasedTrainer=HookBasedTrainer, Resume=ResumeCheckpointConfig,
                           SimpleBatchProcessor=SimpleBatchProcessor)


class Records(logging.Handler):
    """The seed's loggers' records, numbers that measure time blanked out."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[list[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("robo_orchard_lab"):
            return
        text = record.getMessage()
        if record.name.endswith(".stats"):
            text = re.sub(r"\d+(\.\d+)?(e[-+]\d+)?|\d+:\d\d:\d\d|N/A", "#", text)
        self.records.append([record.name, record.levelname, text])


def build(api: SimpleNamespace, out: str, case: str, resume: str | None, calls: list[Any],
          losses: list[float], validations: list[list[float]]) -> Any:
    h = api.hooks

    class Recorder(h.PipelineHooks):
        def __init__(self) -> None:
            super().__init__()
            for channel in ("on_loop", "on_epoch", "on_step", "on_batch", "on_model_forward", "on_model_backward"):
                self.register_hook(channel, h.HookContext.from_callable(
                    before=lambda a, c=channel: calls.append([c, "begin", a.epoch_id, a.step_id, a.global_step_id]),
                    after=lambda a, c=channel: self._after(c, a)))

        def _after(self, channel: str, a: Any) -> None:
            calls.append([channel, "end", a.epoch_id, a.step_id, a.global_step_id])
            if channel == "on_step":
                losses.append(float(a.reduce_loss.detach()))

    class MSETracker(h.MetricTracker):
        def update_metric(self, batch: Any, model_outputs: Any) -> None:
            self.metrics[0].update(model_outputs["pred"].detach(), batch[1])

    class Regression(api.SimpleBatchProcessor):
        def forward(self, model: Any, batch: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            pred = model(batch[0])
            loss = torch.nn.functional.mse_loss(pred, batch[1])
            return {"pred": pred, "loss": loss, "l1_loss": (pred - batch[1]).abs().mean().detach()}, loss

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(20, 1, generator=g)
    data = TensorDataset(x[:0], y[:0]) if case == "empty" else TensorDataset(x, y)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

    def evaluate(m: torch.nn.Module) -> None:
        with torch.no_grad():
            validations.append([len(losses), float(torch.nn.functional.mse_loss(m(x[:8]), y[:8]))])

    save = os.path.join(out, "save")
    hooks: list[Any] = [Recorder(), h.LossTrackerConfig(step_log_freq=2, log_total_loss=True)]
    if case == "empty":  # the seed's StatsMonitor divides by the epoch's step count; MetricTracker computes nothing
        hooks += [h.SaveCheckpointConfig(save_root=os.path.join(save, "ckpt"), save_step_freq=4)]
    if case in ("train", "accumulate"):
        hooks += [
            h.MetricTrackerConfig(class_type=MSETracker, metric_entrys=h.MetricEntry("mse", torchmetrics.MeanSquaredError()),
                                  step_log_freq=2),
            h.StatsMonitorConfig(step_log_freq=3),
            h.SaveCheckpointConfig(save_root=os.path.join(save, "ckpt"), save_step_freq=4),
            h.SaveModelConfig(save_root=os.path.join(save, "models"), save_step_freq=6),
            h.ClearCacheHookConfig(empty_cache_at="step", empty_cache_freq=5),
        ]
    if case == "write":
        hooks.append(h.SaveCheckpointConfig(save_root=os.path.join(save, "ckpt"), save_step_freq=6,
                                            save_epoch_freq=None, save_when_loop_end=False, save_model=False))
    limits = {"max_epoch": 2} if case in ("train", "empty") else {"max_step": {"write": 6}.get(case, 10 if case != "accumulate" else 7)}
    return api.HookBasedTrainer(
        accelerator=Accelerator(cpu=True, gradient_accumulation_steps=2 if case == "accumulate" else 1),
        model=model,
        dataloader=DataLoader(data, batch_size=4),
        batch_processor=Regression(),
        optimizer=optimizer,
        lr_scheduler=scheduler,
        hooks=hooks,
        grad_clip=h.GradientClippingHookConfig(clip_mode="norm", max_norm=0.5),
        validation=h.ValidationHookConfig(eval_callback=evaluate, step_eval_freq=3, epoch_eval_freq=1,
                                          eval_at_begin=True),
        resume_from=_resume(api, resume, case),
        **limits,
    )


def _resume(api: SimpleNamespace, folder: str | None, case: str) -> Any:
    if folder is None:
        return None
    if case == "seed-resume":  # hookpipe's switch for the seed's resume (RoboOrchard Lab has no such field)
        return api.Resume(resume_from=folder, seed_resume=True)
    return api.Resume(resume_from=folder)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=("seed", "hookpipe"), required=True)
    parser.add_argument("--case", choices=("train", "accumulate", "empty", "write", "resume", "seed-resume", "straight"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--resume", default=None)
    opts = parser.parse_args()
    os.makedirs(opts.out, exist_ok=True)
    records = Records()
    logging.getLogger().addHandler(records)
    logging.getLogger().setLevel(logging.INFO)
    calls: list[Any] = []
    losses: list[float] = []
    validations: list[list[float]] = []
    trainer = build(load_api(opts.impl), opts.out, opts.case, opts.resume, calls, losses, validations)
    trainer()
    save = os.path.join(opts.out, "save")
    files = sorted(os.path.relpath(os.path.join(d, f), save) for d, _, fs in os.walk(save) for f in fs)
    result = {
        "losses": losses,
        "params": {k: v.tolist() for k, v in trainer.accelerator.unwrap_model(trainer.model).state_dict().items()},
        "calls": calls,
        "files": files,
        "validations": validations,
        "logs": records.records,
        "progress": [trainer.trainer_progress_state.epoch_id, trainer.trainer_progress_state.step_id,
                     trainer.trainer_progress_state.global_step_id],
    }
    with open(os.path.join(opts.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
