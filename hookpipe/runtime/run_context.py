"""``RunContext``: what a hook may know about the run and ask of it.

Every callback's ``PipelineHookArgs`` carries the trainer's one ``RunContext`` as
``args.run``, so a hook needs no reference to the trainer:

* the run's size, fixed when the run starts (the same values the ``.pipe``
  language's ``run.updates``, ``run.steps``, ``run.steps_per_epoch`` and
  ``run.num_processes`` stand for; ``None`` where the run's length is not known,
  e.g. a dataloader without ``len``);
* :meth:`RunContext.request_stop`: end the run cleanly, as early stopping does.

A clean stop is not an interruption: the step (or epoch phase) that asked
finishes, the ``after`` phases still to run (the epoch's, then the loop's) run
with ``and at end`` epoch guards firing, ``hookpipe run`` exits 0 and its summary
says why the run ended. With several processes a request on any rank stops every
rank at the same step, and all of them learn the first requester's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hookpipe.compiler.run_values import RunSize

__all__ = ["RunContext", "loader_length"]


def loader_length(loader: object) -> int | None:
    """Batches per epoch, or None for a loader without a length (an iterable dataset)."""
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


@dataclass(slots=True)
class RunContext:
    """The run as hooks see it (``args.run``): its size and the clean-stop request.

    Example:
        >>> class StopAtLoss:
        ...     def on_step_end(self, args):
        ...         if float(args.reduce_loss) < 0.01:
        ...             args.run.request_stop("loss below 0.01")
    """

    size: RunSize = field(default_factory=lambda: RunSize(None, None, None, 1))
    #: Why the run is ending early (None while it is not); the first request wins.
    stop_reason: str | None = None

    @property
    def updates(self) -> int | None:
        return self.size.updates

    @property
    def steps(self) -> int | None:
        return self.size.steps

    @property
    def steps_per_epoch(self) -> int | None:
        return self.size.steps_per_epoch

    @property
    def num_processes(self) -> int:
        return self.size.num_processes

    @property
    def stopping(self) -> bool:
        """Whether a clean stop has been requested (on this process, or agreed on by all)."""
        return self.stop_reason is not None

    def request_stop(self, reason: str) -> None:
        """End the run cleanly after the current step (or the running epoch phase).

        The rest of the phase that asked runs; so do the ``after`` phases of the
        epoch and of the loop (a final validation, a final checkpoint). The exit
        status is 0 and ``hookpipe run`` prints ``stopped early: REASON``. Asking
        twice keeps the first reason.

        Args:
            reason: Why, in words for the run's summary (e.g. "early_stop:
                evaluate.accuracy did not improve for 3 validations").
        """
        if self.stop_reason is None:
            self.stop_reason = str(reason)
