"""``ema_swap(source = "avg")``: a bracket that swaps averaged weights in and out.

``with swap { evaluate  save }`` puts the averaged weights of the hook ``source``
(``ema``, ``swa`` or any hook with the ``AveragedWeights`` protocol of
:mod:`hookpipe.runtime.builtins.averaged`) into the model on ``enter`` and the
training weights back, bit for bit, on ``exit``, which the runtime runs also when
an attachment inside raises. ``validation(weights = "avg")`` is the same swap
around one evaluation.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.builtins.averaged import provider

__all__ = ["EmaSwapHook"]


class EmaSwapHook:
    """Swap the averaged weights of the hook ``source`` into the model for a bracket.

    Args:
        source: The ``.pipe`` name of the hook that provides the averaged weights.
    """

    #: The catalog's effects (its writes hold only inside the bracket).
    effects = BUILTINS["ema_swap"].effects.to_json()

    def __init__(self, source: str) -> None:
        self.source = source
        self._instances: dict[str, Any] = {}
        self._open: contextlib.ExitStack | None = None

    def bind_trainer(self, trainer: Any) -> None:
        """The source is looked up among the trainer's hooks by name."""
        self._instances = trainer.hook_instances

    def enter(self, args: PipelineHookArgs) -> None:
        if self._open is not None:
            raise RuntimeError(f"ema_swap: the weights of `{self.source}` are already swapped in (nested brackets "
                               "of one swap hook)")
        averaged = provider(self._instances, self.source, "ema_swap")
        stack = contextlib.ExitStack()
        stack.enter_context(averaged.swapped_in(args.model))
        self._open = stack

    def exit(self, args: PipelineHookArgs) -> None:
        stack, self._open = self._open, None
        if stack is not None:
            stack.close()
