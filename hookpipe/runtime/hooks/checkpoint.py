"""RoboOrchard Lab's ``pipeline.hooks.checkpoint``: ``SaveCheckpoint`` and ``SaveModel``.

``SaveCheckpoint`` is RoboOrchard Lab's checkpoint hook, written so a crash cannot tear it.

The files are the seed's: ``accelerator.save_state(save_root)`` (or accelerate's own
``project_dir/checkpoints/checkpoint_<i>`` with ``automatic_checkpoint_naming``) and,
with ``save_model``, the weights in ``model/`` (``model_<i>/`` for several models)
with ``<prefix>.config.json`` copied in when the state has one. With a fixed
``save_root`` the seed overwrites the folder in place; here every process writes
into ``<save_root>.partial`` and the main process completes it with hookpipe's
marker (every file's size and checksum) and swaps it in, so a run killed mid-save
leaves the previous checkpoint whole and ``hookpipe run --resume latest`` can
verify what it loads (:func:`~hookpipe.runtime.checkpoints.resume.in_place_verified`).

``SaveModel`` is RoboOrchard Lab's weights export, ``save_root/model_epoch_E_step_S/<i>/``.

Only the main process writes (after a barrier), one folder per prepared model, with
``model.config.json`` beside the weights when the model carries a pydantic ``cfg``
(the seed writes it for its ``TorchModelMixin`` models; hookpipe recognises any
model whose ``cfg`` has ``model_dump_json``). A save at a step, epoch end or loop end
that would repeat the last one (same global step) is skipped, as in the seed.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.seed_fields import SaveHookFields
from hookpipe.fileio import replace_folder
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.checkpoints.random_state import make_portable
from hookpipe.runtime.checkpoints.resume import swap_folders, write_marker
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["SaveCheckpoint", "SaveCheckpointConfig", "SaveModel", "SaveModelConfig", "check_save_root"]

#: The seed's logger name, so existing log filters keep working.
logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.checkpoint")
_own_log = logging.getLogger(__name__)


def check_save_root(accelerator: Accelerator, save_root: str | None) -> None:
    """The seed's rule: ``save_root`` is needed unless accelerate names checkpoints (then it is ignored)."""
    automatic = accelerator.project_configuration.automatic_checkpoint_naming
    if not automatic and save_root is None:
        raise ValueError("save_root is required when `automatic_checkpoint_naming of Accelerator is False")
    if automatic and save_root is not None:
        logger.warning(
            f"Ignore customize save_root = {save_root} since `automatic_checkpoint_naming` is True for Accelerator"
        )


class SaveCheckpoint(PipelineHooks):
    """Save the accelerate state every ``save_step_freq`` steps, ``save_epoch_freq`` epochs, and at the end."""

    def __init__(self, cfg: "SaveCheckpointConfig") -> None:
        super().__init__()
        self.cfg = cfg
        self.save_root = cfg.save_root
        self.save_epoch_freq = cfg.save_epoch_freq
        self.save_step_freq = cfg.save_step_freq
        self._is_checked = False
        #: The folder of the newest checkpoint this hook wrote (what ``hookpipe run``'s summary names).
        self.last_path: Path | None = None
        self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))
        self.register_hook("on_epoch", HookContext.from_callable(after=self._on_epoch_end))
        self.register_hook("on_loop", HookContext.from_callable(after=self._on_loop_end))

    def _check(self, accelerator: Accelerator) -> None:
        if not self._is_checked:
            check_save_root(accelerator, self.save_root)
            self._is_checked = True

    def _save_state(self, args: PipelineHookArgs, completed_steps: int) -> str:
        """Write the checkpoint; return its folder (what the seed's ``save_state`` returns)."""
        accelerator = args.accelerator
        accelerator.wait_for_everyone()
        if accelerator.project_configuration.automatic_checkpoint_naming:
            location = accelerator.save_state(self.save_root)  # the seed's call; accelerate names the folder
            make_portable(location, accelerator.process_index)
            self._save_models(accelerator, args.model, Path(location))
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                if Path(location).is_dir():
                    write_marker(Path(location), completed_steps, args.epoch_id)
                else:  # an accelerate stand-in that wrote nothing: no marker for a folder that is not there
                    # (hookpipe's own logger: the seed's module logger sees exactly the seed's calls)
                    _own_log.warning(f"No hookpipe-checkpoint.json written: {location} is not a folder after "
                                     "save_state")
            accelerator.wait_for_everyone()
            return location
        final, partial, old = swap_folders(self.save_root)  # type: ignore[arg-type]  # _check ran
        if accelerator.is_main_process and partial.exists():
            shutil.rmtree(partial)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(partial))
        make_portable(partial, accelerator.process_index)  # readable under numpy 1 (the seed's pin) too
        self._save_models(accelerator, args.model, partial)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            write_marker(partial, completed_steps, args.epoch_id)
            replace_folder(partial, final, old)
        accelerator.wait_for_everyone()
        return str(final)

    def _save_models(self, accelerator: Accelerator, model: Any, location: Path) -> None:
        # The trainer's model (the one it prepared); the seed reads accelerate's private list of
        # prepared models, which holds the same one model in a trainer (docs/compat.md).
        if not (self.cfg.save_model and accelerator.is_main_process) or model is None:
            return
        models = [model]
        for idx, model in enumerate(models):
            prefix = "model" if len(models) == 1 else f"model_{idx}"
            target = location / prefix
            accelerator.save_model(model, str(target))
            config = location / f"{prefix}.config.json"
            if config.exists():
                shutil.copy(config, target)

    def _save(self, args: PipelineHookArgs, completed_steps: int, message: str) -> None:
        """Save, then log ``message`` with ``{location}`` filled in (one formatted string, as the seed logs)."""
        self._check(args.accelerator)
        location = self._save_state(args, completed_steps)
        self.last_path = Path(location)
        if args.accelerator.is_main_process:
            logger.info(message.format(location=location))

    def _on_step_end(self, args: PipelineHookArgs) -> None:
        if self.save_step_freq is not None and (args.global_step_id + 1) % self.save_step_freq == 0:
            done = args.global_step_id + 1  # inside a step the running step is not counted yet
            self._save(args, done, f"Save checkpoint at the end of step {args.global_step_id} to {{location}}")

    def _on_epoch_end(self, args: PipelineHookArgs) -> None:
        if self.save_epoch_freq is not None and (args.epoch_id + 1) % self.save_epoch_freq == 0:
            message = f"Save checkpoint at the end of epoch {args.epoch_id} to {{location}}"
            self._save(args, args.global_step_id, message)

    def _on_loop_end(self, args: PipelineHookArgs) -> None:
        if self.cfg.save_when_loop_end:
            self._save(args, args.global_step_id, "Save checkpoint at the end of training to {location}")


class SaveCheckpointConfig(PipelineHooksConfig[SaveCheckpoint], SaveHookFields):
    """Configuration of :class:`SaveCheckpoint` (fields: :class:`~hookpipe.compiler.seed_fields.SaveHookFields`)."""

    class_type: ClassType[SaveCheckpoint] = SaveCheckpoint


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
        for idx, model in enumerate([args.model]):  # the trainer's model (the seed: accelerate's private list)
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
                logger.info(f"Save model at the end of step {args.global_step_id} to {location}")

    def _on_epoch_end(self, args: PipelineHookArgs) -> None:
        if self._due(self.cfg.save_epoch_freq, args.epoch_id + 1, args):
            args.accelerator.wait_for_everyone()
            if args.accelerator.is_main_process:
                location = self._save_model(args, step_id=args.step_id, epoch_id=args.epoch_id)
                logger.info(f"Save model at the end of epoch {args.epoch_id} of global step {args.global_step_id} "
                            f"to {location}")

    def _on_loop_end(self, args: PipelineHookArgs) -> None:
        if not self.cfg.save_when_loop_end or self._saved_last_step == args.global_step_id:
            return
        args.accelerator.wait_for_everyone()
        if args.accelerator.is_main_process:
            location = self._save_model(args, step_id=args.step_id, epoch_id=args.epoch_id)
            logger.info(f"Save model at the end of training global step {args.global_step_id} to {location}")


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
