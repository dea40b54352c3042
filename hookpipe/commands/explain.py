"""``hookpipe explain FILE [--steps N] [--steps-per-epoch M]``: the lowered loop, or what fires at which step."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from hookpipe.commands.common import (
    add_root_arguments,
    bounded_int,
    compile_or_usage,
    print_diagnostics,
    say,
    usage_error,
)
from hookpipe.diagnostics import has_errors

#: A schedule is printed one line per firing: past a million steps it is no longer read.
MAX_STEPS = 1_000_000


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("explain", help="show the lowered loop, or which hooks fire at which step")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--steps", type=bounded_int(1, MAX_STEPS), metavar="N",
                   help="list what fires in the first N steps of the run the file's max_epoch/max_step describe "
                        "(nothing of its end before N reaches it; a plan with neither is N steps long)")
    p.add_argument("--steps-per-epoch", type=bounded_int(1, MAX_STEPS), metavar="M",
                   help="batches per epoch for --steps (default: all N in one epoch); without --steps, "
                        "N is the whole run the file's max_epoch/max_step describe")
    p.add_argument("--rank", choices=("main", "other"), default="main", help="simulate the main or another process")
    p.add_argument("--json", action="store_true",
                   help="print the --steps schedule as JSON (its \"step\" is global_step_id, from 0; the text "
                   "table counts steps from 1)")
    add_root_arguments(p)
    p.set_defaults(handler=main)


@dataclass(frozen=True, slots=True)
class Span:
    """What ``--steps`` simulates: a run of ``run`` steps, of which the first ``window`` are listed.

    ``window`` is None when the whole run is listed; ``note`` says what the table
    leaves out (the run's end, or steps asked for past it), for a ``#`` line.
    """

    run: int
    per_epoch: int
    window: int | None = None
    note: str | None = None


def main(args: argparse.Namespace) -> int:
    from hookpipe.compiler.explain import explain_plan, schedule_table
    from hookpipe.compiler.schedule import simulate

    ctx = compile_or_usage(args.file, args.root, args.allow_outside_root)
    if isinstance(ctx, int):
        return ctx
    if has_errors(ctx.diagnostics) or ctx.plan is None:
        print_diagnostics([d for d in ctx.diagnostics if d.severity == "error"], ctx.sources)
        return 1
    if args.steps is None and args.steps_per_epoch is None:
        if args.json:
            return usage_error("--json needs --steps N (or --steps-per-epoch E, with a file that sets max_epoch "
                               "or max_step)")
        print(explain_plan(ctx.plan))
        return 0
    span = plan_span(ctx.plan.trainer, args.steps, args.steps_per_epoch)
    if isinstance(span, str):
        return usage_error(span)
    firings = simulate(ctx.plan, span.run, span.per_epoch, main=args.rank == "main", acting=True,
                       window=span.window)
    if args.json:
        print(json.dumps([f.to_json() for f in firings], indent=1))
        if span.note:
            say(f"hookpipe explain: {span.note}")
    else:
        print(schedule_table(firings))
        if span.note:
            print(f"# {span.note}")
        for name in sorted(ctx.plan.validation):
            print(f"# each `{name}` firing also runs its `validation {name} {{ }}` block over its own dataloader: "
                  "validation batches are not training steps, so they are not rows here (`hookpipe explain` "
                  "shows that block)")
    return 0


def plan_span(trainer: Any, steps: int | None, per_epoch: int | None) -> Span | str:
    """The steps ``--steps``/``--steps-per-epoch`` simulate, or a usage error's message.

    The run the file describes (``max_step``/``max_epoch`` at ``per_epoch`` steps
    per epoch, all N in one epoch by default) is simulated and its first N steps
    listed: taking N for the run's end would put ``at end`` firings and an epoch's
    end on a step where the run is still going. Without ``--steps``, N is that whole
    run. A file that sets neither limit has no end of its own: N is its length.
    """
    from hookpipe.compiler.run_values import run_steps

    limits = _limits(trainer)
    per = per_epoch or steps
    if per is None:
        return "need --steps N or --steps-per-epoch E"
    if per <= 0 or steps is not None and steps <= 0:
        return "--steps and --steps-per-epoch must be positive"
    length = run_steps(limits.get("max_step"), limits.get("max_epoch"), per)
    if steps is None:
        if length is None:
            return "--steps-per-epoch needs --steps N here: the file sets neither max_epoch nor max_step"
        return _listed(length, min(length, MAX_STEPS), per, limits)
    if length is None:
        return Span(steps, per)
    if steps > length:
        return Span(length, per, note=(f"the run ends after {length:,} steps ({_settings(limits, per)}): the "
                                       f"{steps - length:,} steps past it that --steps {steps:,} asked for are not "
                                       "listed"))
    return _listed(length, steps, per, limits)


def _listed(length: int, steps: int, per_epoch: int, limits: dict[str, int]) -> Span:
    """The first ``steps`` of a run of ``length``: a note when they stop before its end."""
    if steps >= length:
        return Span(length, per_epoch)
    return Span(length, per_epoch, steps,
                f"the table stops at step {steps:,}, before the run ends at step {length:,} "
                f"({_settings(limits, per_epoch)}): what fires after it, `at end` firings included, is not listed")


def _limits(trainer: Any) -> dict[str, int]:
    """The file's own ``max_step``/``max_epoch`` where they are plain integers (not run-time values)."""
    return {name: value for name in ("max_step", "max_epoch")
            if isinstance(value := trainer.get(name), int) and not isinstance(value, bool)}


def _settings(limits: dict[str, int], per_epoch: int) -> str:
    return ", ".join([*(f"{name} = {value}" for name, value in limits.items()), f"{per_epoch:,} steps per epoch"])
