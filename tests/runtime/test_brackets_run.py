"""Brackets at run time: enter, the attachments inside, exit (also when one raises); ema_swap."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer, HookFailure
from hookpipe.runtime.args import PipelineHookArgs
from tests.runtime import trackinglib
from tests.runtime.planbuild import tiny_trainer_text

LOG: list[tuple[str, int]] = []


class Bracket:
    """A custom bracket hook: ``enter``/``exit`` record the step; the weights are zeroed inside."""

    effects = {"writes": ("params",)}

    def __init__(self) -> None:
        self.saved: list[torch.Tensor] = []

    def enter(self, args: PipelineHookArgs) -> None:
        LOG.append(("enter", args.global_step_id))
        params = list(args.accelerator.unwrap_model(args.model).parameters())
        self.saved = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p in params:
                p.zero_()

    def exit(self, args: PipelineHookArgs) -> None:
        LOG.append(("exit", args.global_step_id))
        with torch.no_grad():
            for p, s in zip(args.accelerator.unwrap_model(args.model).parameters(), self.saved):
                p.copy_(s)


class Inside:
    """Reads the weights inside the bracket; raises at step ``fail_at`` (0-based) if given."""

    effects = {"reads": ("params",)}

    def __init__(self, fail_at: int = -1) -> None:
        self.fail_at = fail_at

    def on_step_end(self, args: PipelineHookArgs) -> None:
        total = sum(float(p.detach().abs().sum()) for p in args.accelerator.unwrap_model(args.model).parameters())
        LOG.append((f"inside:{total == 0.0}", args.global_step_id))
        if args.global_step_id == self.fail_at:
            raise ValueError("boom")


class Outside:
    effects = {"reads": ("params",)}

    def on_step_end(self, args: PipelineHookArgs) -> None:
        total = sum(float(p.detach().abs().sum()) for p in args.accelerator.unwrap_model(args.model).parameters())
        LOG.append((f"outside:{total == 0.0}", args.global_step_id))


def pipe(fail_at: int = -1) -> str:
    return ('use h = "tests.runtime.hooklib"\nuse b = "tests.runtime.test_brackets_run"\n'
            + tiny_trainer_text(n=10, max_step=6, seed=0, cpu=True, progress=False) + f"""
hook optimize = optimizer()
hook swap     = b.Bracket()
hook inside   = b.Inside(fail_at = {fail_at})
hook outside  = b.Outside()

loop {{
    epoch {{
        step {{
            after {{
                optimize
                with swap {{ inside every 2 steps }}
                outside
            }}
        }}
    }}
}}
""")


def run(text: str) -> HookBasedTrainer:
    LOG.clear()
    trainer = HookBasedTrainer.from_plan(compile_text(text, "brackets.pipe"))
    trainer()
    return trainer


def test_a_bracket_runs_enter_inside_exit_only_when_something_inside_fires() -> None:
    run(pipe())
    assert LOG == [("outside:False", 0),
                   ("enter", 1), ("inside:True", 1), ("exit", 1), ("outside:False", 1),
                   ("outside:False", 2),
                   ("enter", 3), ("inside:True", 3), ("exit", 3), ("outside:False", 3),
                   ("outside:False", 4),
                   ("enter", 5), ("inside:True", 5), ("exit", 5), ("outside:False", 5)]


def test_a_bracket_exits_and_restores_when_an_attachment_inside_raises() -> None:
    LOG.clear()
    trainer = HookBasedTrainer.from_plan(compile_text(pipe(fail_at=3), "brackets.pipe"))
    with pytest.raises(HookFailure) as info:
        trainer()
    assert info.value.hook == "inside" and info.value.callback == "on_step_end"
    assert LOG[-3:] == [("enter", 3), ("inside:True", 3), ("exit", 3)]
    model = trainer.accelerator.unwrap_model(trainer.model)
    assert sum(float(p.detach().abs().sum()) for p in model.parameters()) != 0.0  # the weights came back


class NoExit:
    def enter(self, args: Any) -> None:
        pass


def test_a_bracket_hook_without_enter_and_exit_is_refused_before_training() -> None:
    from hookpipe.runtime import PlanResolveError

    text = pipe().replace("b.Bracket()", "b.NoExit()")
    with pytest.raises(PlanResolveError, match="has no `enter\\(args\\)` and `exit\\(args\\)`"):
        HookBasedTrainer.from_plan(compile_text(text, "brackets.pipe"))()


EMA_PIPE = ('use h = "tests.runtime.hooklib"\nuse t = "tests.runtime.trackinglib"\n'
            + tiny_trainer_text(n=10, lr=0.05, max_step=10, grad_accumulation=2, seed=0, cpu=True, progress=False,
                              sanity_val_batches=0)  # the test counts the callback's calls
            + """
hook optimize = optimizer()
hook average  = ema(decay = 0.8, warmup = false)
hook swap     = ema_swap(source = "average")
hook params   = t.ParamRecorder()
hook evaluate = validation(callback = t.seen_weights)

loop {
    epoch {
        step {
            after {
                optimize
                params
                average
                with swap { evaluate every 4 steps }
            }
        }
    }
}
""")


def test_ema_swap_gives_what_validation_weights_ema_gives() -> None:
    """The bracket and `validation(weights = "ema")` see the same averaged weights; training is unchanged."""
    seen: list[list[list[torch.Tensor]]] = []
    finals = []
    for text in (EMA_PIPE,
                 EMA_PIPE.replace("with swap { evaluate every 4 steps }", "evaluate every 4 steps")
                 .replace("callback = t.seen_weights)", 'callback = t.seen_weights, weights = "average")')
                 .replace('hook swap     = ema_swap(source = "average")\n', "")):
        trackinglib.UPDATES.clear()
        trackinglib.SEEN.clear()
        trainer = run(text)
        seen.append(list(trackinglib.SEEN))
        finals.append([p.detach().clone() for p in trainer.accelerator.unwrap_model(trainer.model).parameters()])
    assert len(seen[0]) == len(seen[1]) == 2
    for a, b in zip(seen[0], seen[1]):
        assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert all(torch.equal(x, y) for x, y in zip(*finals))
    average = [p.detach() for p in seen[0][-1]]
    assert not all(torch.equal(a, f) for a, f in zip(average, finals[0]))  # the average, not the live weights


def test_and_at_end_inside_a_bracket_fires_at_the_last_step() -> None:
    """The fused step keeps the last-step flag when only a guard inside a bracket reads it."""
    run(pipe().replace("inside every 2 steps", "inside every 4 steps and at end"))
    assert [s for tag, s in LOG if tag == "enter"] == [3, 5]
    assert [s for tag, s in LOG if tag.startswith("inside")] == [3, 5]
