"""What the parts of a seed-API step cost inside a training loop, and alone (``python -m benchmarks.step_parts``).

The custom-processor workload (:mod:`benchmarks.processor`) adds about 17 µs to
the hand-written loop's step, yet the Python its step runs beyond that loop is
about 600 opcodes and 14 calls (:mod:`benchmarks.step_work`), a few µs when timed
on its own. Between two steps torch's work evicts what that Python touches, so it
runs cold every step. This benchmark measures that part by part, in one process:
the hand-written loop runs with one part of hookpipe's step added at a time, in
blocks that take turns (the order rotated every round); a part's cost is the
median over rounds of its block's time per step minus the hand loop's in the same
round. Beside it, the same part timed alone in a tight loop, where it stays warm.

The parts, each as hookpipe's seed-API step runs it (the trainer in
:mod:`hookpipe.runtime.loop.step_program`):

- ``accumulate``: accelerate's ``accumulate`` bookkeeping on the plain path
  (:func:`hookpipe.runtime.fastpath.accumulation_step`: ``accelerator.step`` and
  ``gradient_state.sync_gradients`` from ``GradientState``'s public fields);
- ``scopes``: the two scopes a seed processor opens itself
  (``pipeline_hooks.begin("on_model_forward")`` and ``"on_model_backward"``, no
  hooks registered);
- ``arguments``: the step's two ``PipelineHookArgs``, filled field by field as the
  fused step fills them;
- ``all three`` together;
- for reference, ``accelerate's accumulate``: the ``with accelerator.accumulate(model)``
  block accelerate's documentation writes around a step, which the first part
  replaces (what an upstream report on its cost would quote: benchmarks/UPSTREAM.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import statistics
import time
import timeit
from typing import Any, Callable

import torch
import torch.nn.functional as F

from benchmarks.runtime.workload import LR, MAX_NORM, make_batches, make_model
from hookpipe.perf import kept_for_run

__all__ = ["PARTS", "ROUNDS", "STEPS", "measure", "section", "trainer"]

PARTS = ("hand", "accumulate", "scopes", "arguments", "all three", "accelerate's accumulate")
#: Rounds, and steps per variant in each (about 20 s in all here).
ROUNDS, STEPS = 30, 500

Batches = list[tuple[torch.Tensor, torch.Tensor]]


def _argument_maker(base: Any) -> Callable[[Any], Any]:
    """``make(batch)``: a ``PipelineHookArgs`` filled as the fused step fills one (``base``'s fields, ``batch``)."""
    from hookpipe.runtime.args import PipelineHookArgs

    names = [f.name for f in dataclasses.fields(PipelineHookArgs)]
    src = "def make(batch):\n    a = new(Args)\n" + "".join(
        f"    a.{n} = {'batch' if n == 'batch' else 'base_' + n}\n" for n in names) + "    return a\n"
    env: dict[str, Any] = {"new": object.__new__, "Args": PipelineHookArgs,
                           **{f"base_{n}": getattr(base, n) for n in names}}
    exec(compile(src, "<step_parts arguments>", "exec"), env)
    make: Callable[[Any], Any] = env["make"]
    return make


class _Parts:
    """One run's accelerator, model and the parts' objects (what a trainer would hold)."""

    def __init__(self, model: torch.nn.Module) -> None:
        from accelerate import Accelerator

        from hookpipe.runtime import PipelineHooks
        from hookpipe.runtime.args import PipelineHookArgs
        from hookpipe.runtime.fastpath import accumulation_step

        self.accelerator = Accelerator(cpu=True)
        self.model = model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        self.params = list(model.parameters())
        self.accumulation_step = accumulation_step(self.accelerator)
        self.hooks = PipelineHooks()
        self.make_args = _argument_maker(PipelineHookArgs(accelerator=self.accelerator, model=model,
                                                          optimizer=self.optimizer))
        self.scope_args = self.make_args(None)

    def alone(self, part: str) -> Callable[[], None]:
        """The part by itself, for timing it warm."""
        step, hooks, make, a = self.accumulation_step, self.hooks, self.make_args, self.scope_args

        def scopes() -> None:
            with hooks.begin("on_model_forward", a):
                pass
            with hooks.begin("on_model_backward", a):
                pass

        def arguments() -> None:
            make(None)
            make(None)

        def together() -> None:
            step()
            arguments()
            scopes()

        def accelerate_accumulate() -> None:
            with accelerator.accumulate(model):
                pass

        accelerator, model = self.accelerator, self.model
        return {"accumulate": step, "scopes": scopes, "arguments": arguments, "all three": together,
                "accelerate's accumulate": accelerate_accumulate}[part]


def trainer(part: str, model: torch.nn.Module) -> Callable[[Batches], None]:
    """A function training ``model`` on batches: the hand-written loop's step with ``part`` added."""
    p = _Parts(model)
    opt, params, clip = p.optimizer, p.params, torch.nn.utils.clip_grad_norm_
    accumulate = part in ("accumulate", "all three")
    scoped = part in ("scopes", "all three")
    arguments = part in ("arguments", "all three")
    step, hooks, make, fixed = p.accumulation_step, p.hooks, p.make_args, p.scope_args
    if part == "accelerate's accumulate":
        accumulate_context = p.accelerator.accumulate

        def train_in_context(batches: Batches) -> None:
            for x, y in batches:
                with accumulate_context(model):
                    out = model(x)
                    loss = F.mse_loss(out.float(), y)
                    loss.backward()
                    clip(params, MAX_NORM)
                    opt.step()
                    opt.zero_grad(set_to_none=True)

        return train_in_context

    def train(batches: Batches) -> None:
        for batch in batches:
            if accumulate:
                step()
            if arguments:
                make(None)  # the step's own object; the batch's is the one the scopes get
                a = make(batch)
            else:
                a = fixed
            x, y = batch
            if scoped:
                with hooks.begin("on_model_forward", a) as fwd:
                    out = model(x)
                    loss = F.mse_loss(out.float(), y)
                    fwd.model_outputs, fwd.reduce_loss = out, loss
                with hooks.begin("on_model_backward", a):
                    loss.backward()
            else:
                out = model(x)
                loss = F.mse_loss(out.float(), y)
                loss.backward()
            clip(params, MAX_NORM)
            opt.step()
            opt.zero_grad(set_to_none=True)

    return train


def measure(rounds: int = ROUNDS, steps: int = STEPS) -> dict[str, tuple[float, float]]:
    """Each part's ``(µs per step over the hand loop inside the loop, µs alone and warm)``."""
    torch.set_num_threads(1)
    batches = make_batches(steps)
    model = make_model()
    trainers = {part: trainer(part, model) for part in PARTS}
    for train in trainers.values():
        train(batches[: min(steps, 50)])
    times: dict[str, list[float]] = {part: [] for part in PARTS}
    gc.collect()
    with kept_for_run():  # as the trainer's loop runs
        for r in range(rounds):
            order = PARTS[r % len(PARTS):] + PARTS[:r % len(PARTS)]
            for part in order:
                start = time.perf_counter()
                trainers[part](batches)
                times[part].append((time.perf_counter() - start) / steps)
    parts = _Parts(make_model())
    out: dict[str, tuple[float, float]] = {}
    for part in PARTS:
        inside = statistics.median(t - h for t, h in zip(times[part], times["hand"])) * 1e6
        alone = 0.0 if part == "hand" else min(timeit.repeat(parts.alone(part), number=20_000, repeat=5)) / 20_000 * 1e6
        out[part] = (inside, alone)
    return out


def section(results: dict[str, tuple[float, float]], rounds: int, steps: int) -> str:
    out = [
        "## The parts of a seed-API step, in the loop and alone",
        "",
        f"`python -m benchmarks.step_parts`: in one process, the hand-written loop with one part of hookpipe's "
        f"seed-API step added at a time; {rounds} rounds of {steps} steps per variant, in an order rotated every "
        "round. In the loop: the median over rounds of the variant's time per step minus the hand loop's. Alone: "
        "the part by itself in a tight loop (`timeit`, best of 5), where its code and data stay in the caches. "
        "Parts: accelerate's `accumulate` bookkeeping (`fastpath.accumulation_step`), the two scopes a seed "
        "processor opens (`pipeline_hooks.begin`, no hooks registered), the step's two `PipelineHookArgs`; "
        "for reference, accelerate's own `with accelerator.accumulate(model)` around the step, which the first "
        "part replaces.",
        "",
        "| part | in the loop (µs/step) | alone (µs) |",
        "|---|---:|---:|",
    ]
    for part, (inside, alone) in results.items():
        if part != "hand":
            out.append(f"| {part} | {inside:+.2f} | {alone:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.step_parts")
    p.add_argument("--rounds", type=int, default=ROUNDS)
    p.add_argument("--steps", type=int, default=STEPS, help="steps per variant per round")
    args = p.parse_args(argv)
    print(section(measure(args.rounds, args.steps), args.rounds, args.steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
