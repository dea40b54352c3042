"""The hookpipe runtime: the seed's ``HookBasedTrainer`` API plus Plan execution.

Importing this package imports torch and accelerate; ``hookpipe`` itself, the DSL
and the compiler never do.
"""

from robo_orchard_core.utils.hook import HookContext

from hookpipe.runtime.args import ModelOutput, ModelOutputHasLossKeys, PipelineHookArgs
from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig
from hookpipe.runtime.dispatch.channels import always
from hookpipe.runtime.distributed.teardown import exit_process
from hookpipe.runtime.errors import HookFailure, HookpipeRuntimeError, PlanResolveError, RunFailure, ScopeFailure
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
from hookpipe.runtime.hooks.mixin import PipelineHookChanelType, PipelineHooks, PipelineHooksConfig
from hookpipe.runtime.hooks.optimizer import OptimizerHook, OptimizerHookConfig
from hookpipe.runtime.hooks.stats import StatsMonitor, StatsMonitorConfig
from hookpipe.runtime.hooks.validation import ValidationHook, ValidationHookConfig
from hookpipe.runtime.loop.batch_processor import (
    BatchProcessorFromCallable,
    BatchProcessorMixin,
    LossNotProvidedError,
    SimpleBatchProcessor,
)
from hookpipe.runtime.simple_trainer import SimpleTrainer
from hookpipe.runtime.trainer import HookBasedTrainer, PipelineHookOrConfigType

__all__ = [
    "BatchProcessorFromCallable",
    "BatchProcessorMixin",
    "ClearCacheHook",
    "ClearCacheHookConfig",
    "GradientClippingHook",
    "GradientClippingHookConfig",
    "HookBasedTrainer",
    "HookContext",
    "HookFailure",
    "HookpipeRuntimeError",
    "LossMovingAverageTracker",
    "LossMovingAverageTrackerConfig",
    "LossNotProvidedError",
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
    "PipelineHookOrConfigType",
    "PipelineHooks",
    "PipelineHooksConfig",
    "PlanResolveError",
    "ResumeCheckpointConfig",
    "RunFailure",
    "SaveCheckpoint",
    "SaveCheckpointConfig",
    "SaveModel",
    "SaveModelConfig",
    "ScopeFailure",
    "SimpleBatchProcessor",
    "SimpleTrainer",
    "StatsMonitor",
    "StatsMonitorConfig",
    "ValidationHook",
    "ValidationHookConfig",
    "always",
    "exit_process",
]
