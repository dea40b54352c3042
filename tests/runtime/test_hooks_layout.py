"""``hookpipe.runtime.hooks`` mirrors RoboOrchard Lab's ``pipeline.hooks`` module for module."""

from __future__ import annotations

import importlib
import logging

import pytest

import hookpipe.runtime.hooks as hooks

#: Where RoboOrchard Lab 0.4.0 defines each public class of ``pipeline.hooks``.
SEED_MODULES = {
    "mixin": ["PipelineHooks", "PipelineHooksConfig"],
    "checkpoint": ["SaveCheckpoint", "SaveCheckpointConfig", "SaveModel", "SaveModelConfig"],
    "metric": ["MetricEntry", "MetricTracker", "MetricTrackerConfig"],
    "stats": ["StatsMonitor", "StatsMonitorConfig"],
    "loss_tracker": ["LossTracker", "LossTrackerConfig", "LossMovingAverageTracker", "LossMovingAverageTrackerConfig"],
    "memory": ["ClearCacheHook", "ClearCacheHookConfig"],
    "grad_clip": ["GradientClippingHook", "GradientClippingHookConfig"],
    "optimizer": ["OptimizerHook", "OptimizerHookConfig"],
    "validation": ["ValidationHook", "ValidationHookConfig"],
}


@pytest.mark.parametrize("module", sorted(SEED_MODULES))
def test_each_seed_class_is_defined_in_the_seed_module(module: str) -> None:
    loaded = importlib.import_module(f"hookpipe.runtime.hooks.{module}")
    for name in SEED_MODULES[module]:
        cls = getattr(hooks, name)
        assert cls.__module__ == loaded.__name__, name
        assert getattr(loaded, name) is cls


@pytest.mark.parametrize("module", sorted(set(SEED_MODULES) - {"mixin"}))
def test_each_seed_module_logs_through_its_own_logger_with_the_seed_name(module: str) -> None:
    loaded = importlib.import_module(f"hookpipe.runtime.hooks.{module}")
    assert loaded.logger is logging.getLogger(f"robo_orchard_lab.pipeline.hooks.{module}")


def test_builtins_are_not_in_the_seed_package() -> None:
    from hookpipe.compiler.catalog import BUILTINS

    seed_classes = {c for names in SEED_MODULES.values() for c in names}
    for hook in BUILTINS.values():
        module, cls = hook.implementation.split(":")
        assert module.startswith("hookpipe.runtime.builtins.") or cls in seed_classes, hook.name
        assert getattr(importlib.import_module(module), cls).__module__ == module
