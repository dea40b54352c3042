"""``lr_plateau(monitor = "evaluate.loss", mode = "min", factor = 0.1, patience = 10, ...)``.

``torch.optim.lr_scheduler.ReduceLROnPlateau`` steps on a metric
(``scheduler.step(val_loss)``), so it cannot be the trainer's ``lr_scheduler``,
which the ``optimizer`` hook steps once per update with no argument (``check
--resolve`` and ``run`` refuse it there, naming this hook). This built-in drives
one on the trainer's optimizer instead: each firing steps the scheduler with every
result the monitored hook recorded since the previous firing, oldest first
(``monitor`` is ``HOOK.METRIC``, as for ``early_stop``), so attached less often
than the validation it reads it counts what it would right after it; when more
than ``patience`` results in a row did not improve (by ``threshold``) every param
group's lr is multiplied by ``factor`` (not below ``min_lr``), then ``cooldown``
results are ignored. Its ``reads metrics, writes lr`` effects order it after the
validation it reads and before anything that reads the lr. Its state (the best
value, the count of bad results, the cooldown, the last result stepped with) is
checkpointed, and the lr itself is the optimizer's, so a resumed run lowers the lr
exactly where the uninterrupted one would.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.tracking.monitor import monitored_results

__all__ = ["LrPlateauHook"]

#: The scheduler's progress fields the checkpoint stores (JSON: ``inf`` as None).
_STATE = ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")


class LrPlateauHook:
    """Step a ``ReduceLROnPlateau`` on the trainer's optimizer with each result of ``monitor``, once."""

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["lr_plateau"].effects.to_json()

    def __init__(self, monitor: str, mode: Literal["min", "max"] = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: Literal["rel", "abs"] = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8) -> None:
        self.monitor = monitor
        self.options: dict[str, Any] = {"mode": mode, "factor": factor, "patience": patience, "threshold": threshold,
                        "threshold_mode": threshold_mode, "cooldown": cooldown, "min_lr": min_lr, "eps": eps}
        self._trainer: Any = None
        self._scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None
        self._seen = -1
        self._restored: dict[str, Any] | None = None

    def bind_trainer(self, trainer: Any) -> None:
        """The trainer's optimizer is the one scheduled; its hooks hold the monitored metric."""
        self._trainer = trainer

    @property
    def scheduler(self) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
        if self._scheduler is None:
            optimizer = self._trainer.optimizer
            optimizer = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper: the torch optimizer
            self._scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **self.options)
            if self._restored is not None:
                self._apply(self._restored)
        return self._scheduler

    def check(self, args: PipelineHookArgs) -> None:
        for index, _, value in monitored_results(self._trainer.hook_instances, self.monitor, self._seen):
            self._seen = index
            self.scheduler.step(value)

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"seen": self._seen}
        if self._scheduler is None:
            return {**state, **(self._restored or {})}
        full = self._scheduler.state_dict()
        for key in _STATE:
            value = full[key]
            state[key] = None if isinstance(value, float) and math.isinf(value) else value
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._seen = int(state["seen"])
        self._restored = {k: state[k] for k in _STATE if k in state}
        if self._scheduler is not None:
            self._apply(self._restored)

    def _apply(self, state: dict[str, Any]) -> None:
        scheduler = self.scheduler
        full = scheduler.state_dict()
        for key, value in state.items():
            full[key] = scheduler.mode_worse if key == "best" and value is None else value
        scheduler.load_state_dict(full)

    on_loop_end = on_epoch_end = on_step_end = on_batch_end = check
    on_model_forward_end = on_model_backward_end = check
    on_validation_end = check  # in `validation NAME { after { } }`: the result just recorded
