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

__all__ = ["LossLogHook", "ThroughputHook"]


class LossLogHook:
    """Record the loss each time it fires; print the mean of the last ``window`` every ``window`` firings."""

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["loss_log"].effects.to_json()

    def __init__(self, window: int = 50) -> None:
        self.window = window
        self._losses: deque[Any] = deque(maxlen=window)
        self._fired = 0
        #: Mean of the last window at the latest print.
        self.last_mean: float | None = None

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if args.reduce_loss is None:
            return
        self._losses.append(args.reduce_loss.detach())
        self._fired += 1
        if self._fired % self.window == 0:
            self.last_mean = float(sum(float(x) for x in self._losses) / len(self._losses))
            args.accelerator.print(f"step {args.global_step_id + 1}: loss {self.last_mean:.4f}")
            args.accelerator.log({"loss": self.last_mean}, step=args.global_step_id)

    def state_dict(self) -> dict[str, Any]:
        """The window and counts, checkpointed so a resumed run prints the same means."""
        return {"losses": [float(x) for x in self._losses], "fired": self._fired, "last_mean": self.last_mean}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import torch

        self._losses = deque((torch.tensor(x) for x in state["losses"]), maxlen=self.window)
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
