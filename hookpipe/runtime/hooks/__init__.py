"""Hooks: hookpipe's built-ins and RoboOrchard Lab's ``pipeline.hooks``, by the seed's names.

``from robo_orchard_lab.pipeline.hooks import X`` becomes ``from hookpipe.runtime.hooks
import X`` for every public name of the seed's package; the submodules that hold
them (``checkpoint``, ``metric``, ``stats``, ``loss_tracker``, ``memory``,
``grad_clip``, ``optimizer``, ``validation``, ``mixin``) have the seed's names too.
The compiler's catalog names the built-ins' implementations by their own module paths.
"""

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
from hookpipe.runtime.hooks.save_checkpoint import SaveCheckpoint, SaveCheckpointConfig
from hookpipe.runtime.hooks.save_model import SaveModel, SaveModelConfig
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
