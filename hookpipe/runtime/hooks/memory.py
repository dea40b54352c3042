"""``ClearCacheHook``: RoboOrchard Lab's periodic release of cached device memory."""

from __future__ import annotations

import logging

from accelerate.utils.memory import clear_device_cache
from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.seed_fields import ClearCacheHookFields
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["ClearCacheHook", "ClearCacheHookConfig"]

#: The seed's logger name, so log filters and tests that patch it keep working.
logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.memory")


class ClearCacheHook(PipelineHooks):
    """``clear_device_cache`` after every ``empty_cache_freq`` steps or epochs (``empty_cache_at``)."""

    def __init__(self, cfg: "ClearCacheHookConfig") -> None:
        super().__init__()
        self.empty_cache_at = cfg.empty_cache_at
        self.empty_cache_freq = cfg.empty_cache_freq
        self.garbage_collection = cfg.garbage_collection
        self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))
        self.register_hook("on_epoch", HookContext.from_callable(after=self._on_epoch_end))

    def _on_step_end(self, arg: PipelineHookArgs) -> None:
        if self.empty_cache_at == "step" and (arg.global_step_id + 1) % self.empty_cache_freq == 0:
            clear_device_cache(garbage_collection=self.garbage_collection)

    def _on_epoch_end(self, arg: PipelineHookArgs) -> None:
        if self.empty_cache_at == "epoch" and (arg.epoch_id + 1) % self.empty_cache_freq == 0:
            clear_device_cache(garbage_collection=self.garbage_collection)


class ClearCacheHookConfig(PipelineHooksConfig[ClearCacheHook], ClearCacheHookFields):
    """Configuration of :class:`ClearCacheHook` (fields: ``ClearCacheHookFields`` in ``compiler.seed_fields``)."""

    class_type: ClassType[ClearCacheHook] = ClearCacheHook
