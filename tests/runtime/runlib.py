"""Hooks for the run-context tests (clean stop, tensor state, run-time values, schedules), by import path."""

from __future__ import annotations

import os
from typing import Any

import torch
from robo_orchard_core.utils.config import ClassType

from hookpipe.runtime import PipelineHookArgs, PipelineHooks, PipelineHooksConfig

#: (tag, callback, global_step_id, epoch_id) of every recorded call, in order.
CALLS: list[tuple[str, str, int, int]] = []


class Stopper:
    """Asks for a clean stop at one global step (step phase) or one epoch (epoch phase)."""

    def __init__(self, step: int = -1, epoch: int = -1, rank: int | None = None) -> None:
        self.step, self.epoch, self.rank = step, epoch, rank

    def _mine(self, args: PipelineHookArgs) -> bool:
        return self.rank is None or args.accelerator.process_index == self.rank

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if args.global_step_id == self.step and self._mine(args):
            assert args.run is not None
            args.run.request_stop(f"asked at step {args.global_step_id}")

    def on_epoch_end(self, args: PipelineHookArgs) -> None:
        if args.epoch_id == self.epoch and self._mine(args):
            assert args.run is not None
            args.run.request_stop(f"asked after epoch {args.epoch_id}")


class Note:
    """Records its calls to :data:`CALLS` and, with ``path``, to ``path.<rank>``."""

    def __init__(self, tag: str, path: str | None = None) -> None:
        self.tag, self.path = tag, path

    def _note(self, callback: str, args: PipelineHookArgs) -> None:
        CALLS.append((self.tag, callback, args.global_step_id, args.epoch_id))
        if self.path is not None:
            with open(f"{self.path}.{args.accelerator.process_index}", "a", encoding="utf-8") as f:
                f.write(f"{self.tag} {callback} {args.global_step_id} {args.epoch_id}\n")

    def on_step_end(self, args: PipelineHookArgs) -> None:
        self._note("on_step_end", args)

    def on_epoch_end(self, args: PipelineHookArgs) -> None:
        self._note("on_epoch_end", args)

    def on_loop_end(self, args: PipelineHookArgs) -> None:
        self._note("on_loop_end", args)


class ParamAverage:
    """An EMA-like hook whose state is tensors (plus a JSON count): what ``ema`` needs.

    ``per_rank`` adds the process index, so each rank's state differs.
    """

    def __init__(self, decay: float = 0.5, per_rank: bool = False) -> None:
        self.decay, self.per_rank = decay, per_rank
        self.shadow: dict[str, torch.Tensor] = {}
        self.updates = 0

    def on_step_end(self, args: PipelineHookArgs) -> None:
        assert args.model is not None
        offset = float(args.accelerator.process_index) if self.per_rank else 0.0
        with torch.no_grad():
            for name, p in args.model.named_parameters():
                value = p.detach() + offset
                if name not in self.shadow:
                    self.shadow[name] = value.clone()
                else:
                    self.shadow[name].mul_(self.decay).add_(value, alpha=1 - self.decay)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "shadow": dict(self.shadow), "decay": torch.tensor(self.decay, dtype=torch.float64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self.shadow = {k: v.clone() for k, v in state["shadow"].items()}
        assert float(state["decay"]) == self.decay

    def on_loop_end(self, args: PipelineHookArgs) -> None:
        out = os.environ.get("HOOKPIPE_TEST_SHADOW")
        if out:
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in self.shadow.items()}, f"{out}.{args.accelerator.process_index}")


class LearningRates:
    """Writes the learning rate an optimizer update uses (attach it before the optimizer) to ``path.<rank>``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_step_end(self, args: PipelineHookArgs) -> None:
        assert args.optimizer is not None
        with open(f"{self.path}.{args.accelerator.process_index}", "a", encoding="utf-8") as f:
            f.write(f"{args.optimizer.param_groups[0]['lr']!r}\n")


class Sized:
    """Keeps the run-time values it was given and what ``args.run`` says, to compare them."""

    def __init__(self, **given: int) -> None:
        self.given = given
        self.seen: dict[str, Any] = {}

    def on_loop_begin(self, args: PipelineHookArgs) -> None:
        assert args.run is not None
        self.seen = {"updates": args.run.updates, "steps": args.run.steps,
                     "steps_per_epoch": args.run.steps_per_epoch, "num_processes": args.run.num_processes}
        path = os.environ.get("HOOKPIPE_TEST_SIZES")
        if path:
            import json

            with open(f"{path}.{args.accelerator.process_index}", "w", encoding="utf-8") as f:
                json.dump({"given": self.given, "seen": self.seen}, f)


def sized_model(num_processes: int) -> torch.nn.Module:
    """A model factory that takes ``run.num_processes`` (known before the dataloader)."""
    assert num_processes >= 1
    return torch.nn.Linear(4, 1)


def endless() -> Any:
    """A dataloader without ``len``: the run's size cannot be known."""
    def batches() -> Any:
        while True:
            x = torch.randn(2, 4)
            yield x, x.sum(dim=1, keepdim=True)

    return batches()


class FailAtEpochEnd:
    """Raises in the first epoch's ``after`` phase: where a failure meets a validation line."""

    def on_epoch_end(self, args: PipelineHookArgs) -> None:
        raise RuntimeError("no such metric")


class PidFile:
    """Writes this process's id to ``path.<rank>`` when the loop starts (to find the workers of a launch)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_loop_begin(self, args: PipelineHookArgs) -> None:
        with open(f"{self.path}.{args.accelerator.process_index}", "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))


class Gate:
    """Holds its run at one global step until ``release`` exists (at most 120 s), after writing ``marker``.

    A run kept live, holding its folders, while a test starts another beside it.
    """

    def __init__(self, step: int, marker: str, release: str) -> None:
        self.step, self.marker, self.release = step, marker, release

    def on_step_end(self, args: PipelineHookArgs) -> None:
        import time

        if args.global_step_id != self.step:
            return
        with open(self.marker, "w", encoding="utf-8") as f:
            f.write("waiting")
        deadline = time.monotonic() + 120
        while not os.path.exists(self.release) and time.monotonic() < deadline:
            time.sleep(0.05)


class CountedHook(PipelineHooks):
    """A user's own hook class built from its own config (``self.cfg``), with a method named like a callback.

    hookpipe's copies of the seed's hooks run only what they registered; a user's class
    keeps the rule every hook follows: its ``on_step_end`` is what an attachment calls.
    """

    calls: list[int] = []

    def __init__(self, cfg: "CountedHookConfig") -> None:
        super().__init__()
        self.cfg = cfg

    def on_step_end(self, args: PipelineHookArgs) -> None:
        CountedHook.calls.append(args.global_step_id)


class CountedHookConfig(PipelineHooksConfig[CountedHook]):
    class_type: ClassType[CountedHook] = CountedHook


def boom() -> Any:
    """A factory with a bug."""
    raise ValueError("boom in a factory")
