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
What else lives in ``save_root`` (``SaveModel``'s exports when it shares the folder,
a user's notes) stays, as with the seed's in-place save
(:mod:`~hookpipe.runtime.checkpoints.in_place`).

``SaveModel`` is RoboOrchard Lab's weights export, ``save_root/model_epoch_E_step_S/<i>/``.

In a ``.pipe`` run (a trainer built from a Plan) both also follow hookpipe's rule for
folders several runs name (:mod:`hookpipe.runtime.checkpoints.versions`): the
trainer calls ``use_place``, and a run that does not continue the checkpoint in
``save_root`` writes into ``<save_root>.vN`` (``SaveCheckpoint``) and
``save_root/vN`` (``SaveModel``), so a second run of the file never replaces the
first one's files; ``SaveCheckpoint`` also saves the run's Plan and id, so
``--resume`` can tell a continued run from a changed one. A trainer built in
Python (the seed's API) never calls ``use_place`` and overwrites as the seed does.

Only the main process writes (after a barrier), one folder per prepared model, with
``model.config.json`` beside the weights when the model carries a pydantic ``cfg``
(the seed writes it for its ``TorchModelMixin`` models; hookpipe recognises any
model whose ``cfg`` has ``model_dump_json``). A save at a step, epoch end or loop end
that would repeat the last one (same global step) is skipped, as in the seed.

Inside a gradient-accumulation window (a save every few steps, or the save at a
stop, between updates) ``SaveCheckpoint`` also writes the accumulated gradients,
``hookpipe-grads-<rank>.safetensors``, as the built-in ``checkpoint`` does; a
resume loads them, so it goes on with the window's gradients instead of dropping
them (accelerate's ``save_state`` keeps none). The extra file leaves the seed's
folder format as it is: RoboOrchard Lab loads the folder and ignores it.
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
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.checkpoints.checkpoint_state import save_grads
from hookpipe.runtime.checkpoints.in_place import swap_in
from hookpipe.runtime.checkpoints.random_state import make_portable
from hookpipe.runtime.checkpoints.resume import swap_folders, write_marker
from hookpipe.runtime.checkpoints.resume_changes import write_plan
from hookpipe.runtime.checkpoints.versions import RunPlace
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
        #: In a ``.pipe`` run, the id its markers carry (see :meth:`use_place`); None in the seed's API.
        self.run_id: str | None = None
        #: In a ``.pipe`` run, the Plan saved beside each checkpoint (see :meth:`bind_trainer`).
        self._plan: Any = None
        self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))
        self.register_hook("on_epoch", HookContext.from_callable(after=self._on_epoch_end))
        self.register_hook("on_loop", HookContext.from_callable(after=self._on_loop_end))

    def use_place(self, place: RunPlace) -> None:
        """Write where :func:`~hookpipe.runtime.checkpoints.versions.choose_place` decided, as run ``place.run_id``.

        Called by a Plan-built trainer before the run starts: every save replaces
        ``save_root`` as a whole, so a run that does not continue the checkpoint there
        writes into ``<save_root>.vN`` beside it instead of replacing another run's.
        """
        if self.save_root is not None:
            self.save_root = str(place.beside(self.save_root))
        self.run_id = place.run_id

    def bind_trainer(self, trainer: Any) -> None:
        """Called by a Plan-built trainer: its Plan is saved with each checkpoint.

        ``--resume`` compares it with the Plan about to run, which is how a run that
        changes more than its limits is told from one that continues this one.
        """
        self._plan = getattr(trainer, "plan", None)

    def _complete(self, folder: Path, completed_steps: int, epoch_id: int, at: str) -> None:
        """Main process: the Plan (in a ``.pipe`` run), then the marker, which lists it with every other file.

        The marker also says where in the loop the save ran (``"at"``: ``step``,
        ``epoch`` or ``loop``): the seed records no cursor, and a checkpoint taken at the
        loop's end is a finished run that ``--resume`` must not run again.
        """
        if self._plan is not None:
            write_plan(folder, self._plan)
        extra: dict[str, Any] = {"run": self.run_id} if self.run_id is not None else {}
        write_marker(folder, completed_steps, epoch_id, at=at, **extra)

    def _check(self, accelerator: Accelerator) -> None:
        if not self._is_checked:
            check_save_root(accelerator, self.save_root)
            self._is_checked = True

    def _save_state(self, args: PipelineHookArgs, completed_steps: int, at: str) -> str:
        """Write the checkpoint; return its folder (what the seed's ``save_state`` returns)."""
        accelerator = args.accelerator
        accelerator.wait_for_everyone()
        if accelerator.project_configuration.automatic_checkpoint_naming:
            location = accelerator.save_state(self.save_root)  # the seed's call; accelerate names the folder
            make_portable(location, accelerator.process_index)
            self._save_grads(accelerator, args.model, Path(location))
            self._save_models(accelerator, args.model, Path(location))
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                if Path(location).is_dir():
                    self._complete(Path(location), completed_steps, args.epoch_id, at)
                else:  # an accelerate stand-in that wrote nothing: no marker for a folder that is not there
                    # (hookpipe's own logger: the seed's module logger sees exactly the seed's calls)
                    _own_log.warning(f"No hookpipe-checkpoint.json written: {location} is not a folder after "
                                     "save_state")
            accelerator.wait_for_everyone()
            return location
        # A link's target is where the swap happens (swap_folders): the link stays, as the seed's in-place save.
        root = Path(self.save_root)  # type: ignore[arg-type]  # _check ran
        final, partial, old = swap_folders(root)
        if accelerator.is_main_process and partial.exists():
            shutil.rmtree(partial)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(partial))
        make_portable(partial, accelerator.process_index)  # readable under numpy 1 (the seed's pin) too
        self._save_grads(accelerator, args.model, partial)
        self._save_models(accelerator, args.model, partial)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            self._complete(partial, completed_steps, args.epoch_id, at)
            swap_in(partial, final, old)
        accelerator.wait_for_everyone()
        return str(root)  # the name the file gives (the link, where it is one)

    @staticmethod
    def _save_grads(accelerator: Accelerator, model: Any, location: Path) -> None:
        """Every process: the gradients of an unfinished accumulation window (none on an update boundary)."""
        if model is not None and location.is_dir():
            save_grads(location, accelerator.process_index, accelerator.unwrap_model(model))

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

    def _save(self, args: PipelineHookArgs, completed_steps: int, message: str, at: str) -> None:
        """Save, then log ``message`` with ``{location}`` filled in (one formatted string, as the seed logs)."""
        self._check(args.accelerator)
        location = self._save_state(args, completed_steps, at)
        self.last_path = Path(location)
        if args.accelerator.is_main_process:
            logger.info(message.format(location=location))

    def save_on_stop(self, args: PipelineHookArgs) -> Path | None:
        """In a ``.pipe`` run, the checkpoint of a graceful stop (SIGTERM, a hook's request), between steps.

        ``hookpipe run`` promises that a stop finishes the step and checkpoints with
        the file's checkpoint hook; the seed has no stops, so a trainer built in Python
        saves nothing extra (None). The ids already count the finished step.
        """
        if self.run_id is None:
            return None
        self._check(args.accelerator)
        self.last_path = Path(self._save_state(args, args.global_step_id, "step"))
        return self.last_path

    def _on_step_end(self, args: PipelineHookArgs) -> None:
        if self.save_step_freq is not None and (args.global_step_id + 1) % self.save_step_freq == 0:
            done = args.global_step_id + 1  # inside a step the running step is not counted yet
            self._save(args, done, f"Save checkpoint at the end of step {args.global_step_id} to {{location}}",
                       "step")

    def _on_epoch_end(self, args: PipelineHookArgs) -> None:
        if self.save_epoch_freq is not None and (args.epoch_id + 1) % self.save_epoch_freq == 0:
            message = f"Save checkpoint at the end of epoch {args.epoch_id} to {{location}}"
            self._save(args, args.global_step_id, message, "epoch")

    def _on_loop_end(self, args: PipelineHookArgs) -> None:
        if self.cfg.save_when_loop_end:
            self._save(args, args.global_step_id, "Save checkpoint at the end of training to {location}", "loop")


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
        #: In a ``.pipe`` run, this run's version of ``save_root`` (see :meth:`use_place`); None in the seed's API.
        self._place: RunPlace | None = None

    def use_place(self, place: RunPlace) -> None:
        """Export into the version :func:`~hookpipe.runtime.checkpoints.versions.choose_place` gave this run.

        Called by a Plan-built trainer before the run starts: a second run of the file
        would write the same ``model_epoch_E_step_S`` names over the first one's, so a
        run that does not continue the run in these folders writes into ``save_root/vN``.
        """
        self._place = place

    def _root(self, accelerator: Accelerator) -> str:
        """The folder this run exports into: the configured one, or this run's version of ``save_root``."""
        root = self.cfg.get_save_root(accelerator)
        if self._place is None or accelerator.project_configuration.automatic_checkpoint_naming:
            return root  # accelerate's own folder is not one a .pipe file names
        return str(self._place.folder(root))

    def _save_model(self, args: PipelineHookArgs, step_id: int, epoch_id: int) -> str:
        if args.model is None:
            raise ValueError("model is None. Cannot save model.")
        self._saved_last_step = args.global_step_id
        accelerator = args.accelerator
        root = os.path.join(self._root(accelerator), f"model_epoch_{epoch_id}_step_{step_id}")
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
