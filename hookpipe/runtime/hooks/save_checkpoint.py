"""``SaveCheckpoint``: RoboOrchard Lab's checkpoint hook, written so a crash cannot tear it.

The files are the seed's: ``accelerator.save_state(save_root)`` (or accelerate's own
``project_dir/checkpoints/checkpoint_<i>`` with ``automatic_checkpoint_naming``) and,
with ``save_model``, the weights in ``model/`` (``model_<i>/`` for several models)
with ``<prefix>.config.json`` copied in when the state has one. With a fixed
``save_root`` the seed overwrites the folder in place; here every process writes
into ``<save_root>.partial`` and the main process completes it with hookpipe's
marker (every file's size and checksum) and swaps it in, so a run killed mid-save
leaves the previous checkpoint whole and ``hookpipe run --resume latest`` can
verify what it loads (:func:`~hookpipe.runtime.resume.in_place_verified`).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from accelerate import Accelerator
from robo_orchard_core.utils.config import ClassType

from hookpipe.compiler.seed_fields import SaveHookFields
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.pipeline_hooks import HookContext, PipelineHooks, PipelineHooksConfig
from hookpipe.runtime.resume import swap_folders, write_marker

__all__ = ["SaveCheckpoint", "SaveCheckpointConfig", "check_save_root"]

#: The seed's logger name, so existing log filters keep working.
logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.checkpoint")


def check_save_root(accelerator: Accelerator, save_root: str | None) -> None:
    """The seed's rule: ``save_root`` is needed unless accelerate names checkpoints (then it is ignored)."""
    automatic = accelerator.project_configuration.automatic_checkpoint_naming
    if not automatic and save_root is None:
        raise ValueError("save_root is required when `automatic_checkpoint_naming of Accelerator is False")
    if automatic and save_root is not None:
        logger.warning(
            "Ignore customize save_root = %s since `automatic_checkpoint_naming` is True for Accelerator", save_root
        )


def _swap_in(partial: Path, final: Path, old: Path) -> None:
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(partial, final)
    shutil.rmtree(old, ignore_errors=True)


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
            location = accelerator.save_state()
            self._save_models(accelerator, Path(location))
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                write_marker(Path(location), completed_steps, args.epoch_id)
            accelerator.wait_for_everyone()
            return location
        final, partial, old = swap_folders(self.save_root)  # type: ignore[arg-type]  # _check ran
        if accelerator.is_main_process and partial.exists():
            shutil.rmtree(partial)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(partial))
        self._save_models(accelerator, partial)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            write_marker(partial, completed_steps, args.epoch_id)
            _swap_in(partial, final, old)
        accelerator.wait_for_everyone()
        return str(final)

    def _save_models(self, accelerator: Accelerator, location: Path) -> None:
        if not (self.cfg.save_model and accelerator.is_main_process):
            return
        models = accelerator._models
        for idx, model in enumerate(models):
            prefix = "model" if len(models) == 1 else f"model_{idx}"
            target = location / prefix
            accelerator.save_model(model, str(target))
            config = location / f"{prefix}.config.json"
            if config.exists():
                shutil.copy(config, target)

    def _save(self, args: PipelineHookArgs, completed_steps: int, message: str, *ids: int) -> None:
        self._check(args.accelerator)
        location = self._save_state(args, completed_steps)
        self.last_path = Path(location)
        if args.accelerator.is_main_process:
            logger.info(message, *ids, location)

    def _on_step_end(self, args: PipelineHookArgs) -> None:
        if self.save_step_freq is not None and (args.global_step_id + 1) % self.save_step_freq == 0:
            done = args.global_step_id + 1  # inside a step the running step is not counted yet
            self._save(args, done, "Save checkpoint at the end of step %s to %s", args.global_step_id)

    def _on_epoch_end(self, args: PipelineHookArgs) -> None:
        if self.save_epoch_freq is not None and (args.epoch_id + 1) % self.save_epoch_freq == 0:
            self._save(args, args.global_step_id, "Save checkpoint at the end of epoch %s to %s", args.epoch_id)

    def _on_loop_end(self, args: PipelineHookArgs) -> None:
        if self.cfg.save_when_loop_end:
            self._save(args, args.global_step_id, "Save checkpoint at the end of training to %s")


class SaveCheckpointConfig(PipelineHooksConfig[SaveCheckpoint], SaveHookFields):
    """Configuration of :class:`SaveCheckpoint` (fields: :class:`~hookpipe.compiler.seed_fields.SaveHookFields`)."""

    class_type: ClassType[SaveCheckpoint] = SaveCheckpoint
