"""``LossTracker``: RoboOrchard Lab's loss logger (and its deprecated moving-average twin).

After every step each loss of the model's outputs (``loss_keys()`` when the outputs
have it, else every key containing ``"loss"``) is averaged across processes
(``accelerator.reduce``, a collective) and folded into a running mean; every
``step_log_freq`` steps of an epoch the main process logs and ``accelerator.log``s
``Loss/<key>`` (and ``Loss/Total_Loss``), and the means restart.
"""

from __future__ import annotations

import logging

import torch
from accelerate import Accelerator
from robo_orchard_core.utils.config import ClassType
from typing_extensions import deprecated

from hookpipe.compiler.seed_fields import LossMovingAverageTrackerFields, LossTrackerFields
from hookpipe.runtime.args import ModelOutput, ModelOutputHasLossKeys, PipelineHookArgs
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["LossMovingAverageTracker", "LossMovingAverageTrackerConfig", "LossTracker", "LossTrackerConfig"]

logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.loss_tracker")


class LossTracker(PipelineHooks):
    """Track and log the model's losses (see the module docstring)."""

    cfg: "LossTrackerConfig"

    def __init__(self, cfg: "LossTrackerConfig") -> None:
        super().__init__()
        self.cfg = cfg
        self.reset_cached_loss()
        self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))

    def reset_cached_loss(self) -> None:
        self.cached_loss: dict[str, float] = {}
        self.moving_average_count: dict[str, float] = {}

    def update(self, accelerator: Accelerator, model_outputs: ModelOutput) -> None:
        """Fold this step's losses, averaged across processes, into the running means."""
        if isinstance(model_outputs, ModelOutputHasLossKeys):
            keys = list(model_outputs.loss_keys())
        else:
            keys = [k for k in model_outputs.keys() if "loss" in k]
        for key in keys:
            loss = model_outputs[key]
            if not isinstance(loss, torch.Tensor):
                raise AssertionError(f"Loss {key} is not a tensor.")
            reduced: torch.Tensor = accelerator.reduce(loss, reduction="mean")
            if reduced.numel() != 1:
                logger.warning(f"The loss {key} is not a scalar, got shape {reduced.shape}. "
                               "Using mean value as the loss.")
                reduced = reduced.mean()
            value = reduced.item()
            if key not in self.cached_loss:
                self.cached_loss[key] = 0.0
                self.moving_average_count[key] = 0
            n = float(self.moving_average_count[key])
            self.cached_loss[key] = n / (n + 1) * self.cached_loss[key] + 1 / (n + 1) * value
            if self.cfg.moving_average:
                self.moving_average_count[key] += 1

    def _on_step_end(self, args: PipelineHookArgs) -> None:
        if args.model_outputs is not None:
            self.update(args.accelerator, args.model_outputs)
        if (args.step_id + 1) % self.cfg.step_log_freq != 0:
            return
        if args.accelerator.is_main_process:
            max_epoch = args.max_epoch - 1 if args.max_epoch is not None else "NA"
            max_step = args.max_step - 1 if args.max_step is not None else "NA"
            msg = (f"Epoch[{args.epoch_id}/{max_epoch}] Step[{args.step_id}] "
                   f"GlobalStep[{args.global_step_id}/{max_step}]: ")
            total = 0.0
            for key, value in self.cached_loss.items():
                msg += f"{key}[{value:.4f}]\t"
                total += value
                args.accelerator.log({f"Loss/{key}": value}, step=args.global_step_id)
            if self.cfg.log_total_loss:
                msg += f"total_loss[{total:.4f}]"
                args.accelerator.log({"Loss/Total_Loss": total}, step=args.global_step_id)
            logger.info(msg)
        self.reset_cached_loss()


class LossTrackerConfig(PipelineHooksConfig[LossTracker], LossTrackerFields):
    """Configuration of :class:`LossTracker` (fields: :class:`~hookpipe.compiler.seed_fields.LossTrackerFields`)."""

    class_type: ClassType[LossTracker] = LossTracker


@deprecated("LossMovingAverageTrackerConfig is deprecated, please use LossTrackerConfig instead.")
class LossMovingAverageTrackerConfig(LossMovingAverageTrackerFields, LossTrackerConfig):
    """Deprecated in the seed (use :class:`LossTrackerConfig`): logs every 25 steps, with the total.

    As in the seed it builds a plain :class:`LossTracker`.
    """


@deprecated("LossMovingAverageTracker is deprecated, please use LossTracker instead.")
class LossMovingAverageTracker(LossTracker):
    """Deprecated in the seed (use :class:`LossTracker`)."""

    def __init__(self, cfg: LossMovingAverageTrackerConfig) -> None:
        super().__init__(cfg)
