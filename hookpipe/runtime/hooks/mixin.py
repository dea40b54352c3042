"""The seed's ``pipeline.hooks.mixin`` names, where RoboOrchard Lab code imports them from."""

from __future__ import annotations

from robo_orchard_core.utils.config import ClassType

from hookpipe.runtime.args import ModelOutput, ModelOutputHasLossKeys, PipelineHookArgs
from hookpipe.runtime.pipeline_hooks import HookContext, PipelineHookChanelType, PipelineHooks, PipelineHooksConfig

__all__ = [
    "ClassType",
    "HookContext",
    "ModelOutput",
    "ModelOutputHasLossKeys",
    "PipelineHookArgs",
    "PipelineHookChanelType",
    "PipelineHooks",
    "PipelineHooksConfig",
]
