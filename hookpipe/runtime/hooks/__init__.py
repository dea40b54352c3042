"""RoboOrchard Lab's ``pipeline.hooks``, module for module.

``from robo_orchard_lab.pipeline.hooks import X`` becomes ``from hookpipe.runtime.hooks
import X`` for every public name of the seed's package, and each submodule has the
seed's name and holds the classes the seed's module holds (``mixin``, ``checkpoint``,
``metric``, ``stats``, ``loss_tracker``, ``memory``, ``grad_clip``, ``optimizer``,
``validation``), with a module-level ``logger`` its classes log through.
hookpipe's own built-ins live in :mod:`hookpipe.runtime.builtins`.
"""

from hookpipe.runtime.hooks.checkpoint import SaveCheckpoint, SaveCheckpointConfig, SaveModel, SaveModelConfig
from hookpipe.runtime.hooks.grad_clip import GradientClippingHook, GradientClippingHookConfig
from hookpipe.runtime.hooks.loss_tracker import (
    LossMovingAverageTracker,
    LossMovingAverageTrackerConfig,
    LossTracker,
    LossTrackerConfig,
)
from hookpipe.runtime.hooks.memory import ClearCacheHook, ClearCacheHookConfig
from hookpipe.runtime.hooks.metric import MetricEntry, MetricTracker, MetricTrackerConfig
from hookpipe.runtime.hooks.mixin import (
    ClassType,
    HookContext,
    ModelOutput,
    ModelOutputHasLossKeys,
    PipelineHookArgs,
    PipelineHookChanelType,
    PipelineHooks,
    PipelineHooksConfig,
)
from hookpipe.runtime.hooks.optimizer import OptimizerHook, OptimizerHookConfig
from hookpipe.runtime.hooks.stats import StatsMonitor, StatsMonitorConfig
from hookpipe.runtime.hooks.validation import ValidationHook, ValidationHookConfig

__all__ = [
    "ClassType",
    "ClearCacheHook",
    "ClearCacheHookConfig",
    "GradientClippingHook",
    "GradientClippingHookConfig",
    "HookContext",
    "LossMovingAverageTracker",
    "LossMovingAverageTrackerConfig",
    "LossTracker",
    "LossTrackerConfig",
    "MetricEntry",
    "MetricTracker",
    "MetricTrackerConfig",
    "ModelOutput",
    "ModelOutputHasLossKeys",
    "OptimizerHook",
    "OptimizerHookConfig",
    "PipelineHookArgs",
    "PipelineHookChanelType",
    "PipelineHooks",
    "PipelineHooksConfig",
    "SaveCheckpoint",
    "SaveCheckpointConfig",
    "SaveModel",
    "SaveModelConfig",
    "StatsMonitor",
    "StatsMonitorConfig",
    "ValidationHook",
    "ValidationHookConfig",
]
