"""``SaveModel``: RoboOrchard Lab's weights export, ``save_root/model_epoch_E_step_S/<i>/``.

Only the main process writes (after a barrier), one folder per prepared model, with
``model.config.json`` beside the weights when the model carries a pydantic ``cfg``
(the seed writes it for its ``TorchModelMixin`` models; hookpipe recognises any
model whose ``cfg`` has ``model_dump_json``). A save at a step, epoch end or loop end
that would repeat the last one (same global step) is skipped, as in the seed.
"""

from __future__ import annotations

import logging
import os

from accelerate import Accelerator
from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.seed_fields import SaveHookFields
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.hooks.save_checkpoint import check_save_root
from hookpipe.runtime.pipeline_hooks import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["SaveModel", "SaveModelConfig"]

logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.checkpoint")


class SaveModel(PipelineHooks):
    """Export the model's weights every ``save_step_freq`` steps, ``save_epoch_freq`` epochs, and at the end."""

    cfg: "SaveModelConfig"

    def __init__(self, cfg: "SaveModelConfig") -> None:
        super().__init__()
        self.cfg = cfg
        self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))
        self.register_hook("on_epoch", HookContext.from_callable(after=self._on_epoch_end))
        self.register_hook("on_loop", HookContext.from_callable(after=self._on_loop_end))
        self._saved_last_step: int = -1  # no second save of the same step at epoch or loop end

    def _save_model(self, args: PipelineHookArgs, step_id: int, epoch_id: int) -> str:
        if args.model is None:
            raise ValueError("model is None. Cannot save model.")
        self._saved_last_step = args.global_step_id
        accelerator = args.accelerator
        root = os.path.join(self.cfg.get_save_root(accelerator), f"model_epoch_{epoch_id}_step_{step_id}")
        if not accelerator.is_main_process:
            return root
        for idx, model in enumerate(accelerator._models):
            folder = os.path.join(root, str(idx))
            accelerator.save_model(model, folder)
            cfg = getattr(accelerator.unwrap_model(model), "cfg", None)
            if cfg is not None and callable(getattr(cfg, "model_dump_json", None)):
                with open(os.path.join(folder, "model.config.json"), "w", encoding="utf-8") as f:
                    f.write(cfg.model_dump_json(indent=4))
        return root

    def _due(self, freq: int | None, count: int, args: PipelineHookArgs) -> bool:
        return freq is not None and count % freq == 0 and self._saved_last_step != args.global_step_id

    def _on_step_end(self, args: PipelineHookArgs) -> None:
        if self._due(self.cfg.save_step_freq, args.global_step_id + 1, args):
            args.accelerator.wait_for_everyone()
            if args.accelerator.is_main_process:
                location = self._save_model(args, step_id=args.step_id, epoch_id=args.epoch_id)
                logger.info("Save model at the end of step %s to %s", args.global_step_id, location)

    def _on_epoch_end(self, args: PipelineHookArgs) -> None:
        if self._due(self.cfg.save_epoch_freq, args.epoch_id + 1, args):
            args.accelerator.wait_for_everyone()
            if args.accelerator.is_main_process:
                location = self._save_model(args, step_id=args.step_id, epoch_id=args.epoch_id)
                logger.info("Save model at the end of epoch %s of global step %s to %s",
                            args.epoch_id, args.global_step_id, location)

    def _on_loop_end(self, args: PipelineHookArgs) -> None:
        if not self.cfg.save_when_loop_end or self._saved_last_step == args.global_step_id:
            return
        args.accelerator.wait_for_everyone()
        if args.accelerator.is_main_process:
            location = self._save_model(args, step_id=args.step_id, epoch_id=args.epoch_id)
            logger.info("Save model at the end of training global step %s to %s", args.global_step_id, location)


class SaveModelConfig(PipelineHooksConfig[SaveModel], SaveHookFields):
    """Configuration of :class:`SaveModel` (fields: :class:`~hookpipe.compiler.seed_fields.SaveHookFields`)."""

    class_type: ClassType[SaveModel] = SaveModel

    def get_save_root(self, accelerator: Accelerator) -> str:
        """``project_dir/saved_models`` with accelerate's automatic naming, else ``save_root``."""
        check_save_root(accelerator, self.save_root)
        if accelerator.project_configuration.automatic_checkpoint_naming:
            return os.path.join(accelerator.project_dir, "saved_models")
        assert self.save_root is not None  # check_save_root refused None
        return self.save_root
