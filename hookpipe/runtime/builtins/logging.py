"""``loss_log`` and ``throughput``: progress output on the main process.

Both read only what the step produced (the loss tensor, the clock) and defer
``.item()`` (a device sync) to the moments they print.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sized
from typing import Any

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.compiler.run_values import run_steps
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.tracking.loss_meter import LossMeter

__all__ = ["LossLogHook", "ThroughputHook"]


class LossLogHook:
    """Print the mean loss since its previous line, every ``window`` firings, on the main process.

    The mean is ``log()``'s: every step's loss since the previous line (the trainer
    sums them on the device, :class:`~hookpipe.runtime.tracking.loss_meter.LossMeter`), over
    every process when every process runs the hook (one all-reduce per line). Attached
    ``on main``, only the main process fires it, so it reports the main process's
    own losses: in a ``.pipe`` run a processor named in the file keeps each
    process's own (``average_loss=False``, ``build.py``) unless its call says
    ``average_loss = true``.
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["loss_log"].effects.to_json()

    def __init__(self, window: int = 50) -> None:
        self.window = window
        #: Fed with every step's loss by the trainer once bound; before that, with each firing's.
        self._meter = LossMeter()
        self._bound = False
        self._everywhere = True
        self._fired = 0
        #: The mean of the latest line.
        self.last_mean: float | None = None

    def bind_trainer(self, trainer: Any) -> None:
        """The trainer sums each step's loss into this hook's meter; ``on main`` means no collective."""
        self._meter, self._bound = trainer.add_loss_meter(), True
        names = {name for name, inst in trainer.hook_instances.items() if inst is self}
        plan = trainer.plan
        self._everywhere = plan is None or not any(e.main_only for _, e in plan.entries() if e.hook in names)

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if not self._bound:
            self._meter.add(args.reduce_loss)
        self._fired += 1
        if self._fired % self.window:
            return
        mean = self._meter.take_mean(args.accelerator, across_processes=self._everywhere)
        if mean is not None:
            self.last_mean = mean
            args.accelerator.print(f"step {args.global_step_id + 1}: loss {mean:.4f}")

    def state_dict(self) -> dict[str, Any]:
        """The loss sum since the last line and the firing count, so a resumed run prints the same means."""
        return {"meter": self._meter.state_dict(), "fired": self._fired, "last_mean": self.last_mean}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "meter" in state:  # checkpoints from before the meter kept a window of firings instead
            self._meter.load_state_dict(state["meter"])
        self._fired = int(state["fired"])
        self.last_mean = state["last_mean"]


class ThroughputHook:
    """Steps per second over a window, shown as a tqdm bar on the main process."""

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["throughput"].effects.to_json()

    def __init__(self, window: int = 50, progress: bool = True) -> None:
        self.window = window
        self.progress = progress
        self._times: deque[tuple[int, float]] = deque(maxlen=window + 1)
        self._bar: Any = None
        self._shown = 0
        #: Steps per second over the last window.
        self.rate: float | None = None

    def on_step_end(self, args: PipelineHookArgs) -> None:
        done = args.global_step_id + 1
        self._times.append((done, time.perf_counter()))
        if len(self._times) >= 2:
            (s0, t0), (s1, t1) = self._times[0], self._times[-1]
            self.rate = (s1 - s0) / (t1 - t0) if t1 > t0 else None
        if not args.accelerator.is_main_process:
            return
        if self.progress:
            if self._bar is None:
                from tqdm.auto import tqdm

                self._bar = tqdm(total=_total_steps(args), initial=done - 1, unit="step")
                self._shown = done - 1
            self._bar.update(done - self._shown)
            self._shown = done
            if self.rate is not None:
                self._bar.set_postfix(steps_per_s=f"{self.rate:.1f}", refresh=False)

    def state_dict(self) -> dict[str, Any]:
        """The last rate; the clock readings of another process mean nothing, so the window restarts."""
        return {"rate": self.rate}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rate = state["rate"]

    def close(self) -> None:
        """Called once when the run ends (also on failure): close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _total_steps(args: PipelineHookArgs) -> int | None:
    loader = args.dataloader
    if not isinstance(loader, Sized) or not len(loader):
        return args.max_step or None  # the bar's total: at most max_step
    return run_steps(args.max_step, args.max_epoch, len(loader)) or None
