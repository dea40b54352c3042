"""``hookpipe explain FILE [--steps N --steps-per-epoch M]``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hookpipe.commands.common import bounded_int, compile_or_usage, print_diagnostics, say, usage_error
from hookpipe.diagnostics import has_errors

#: A schedule is printed one line per firing: past a million steps it is no longer read.
MAX_STEPS = 1_000_000


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("explain", help="show the lowered loop, or which hooks fire at which step")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--steps", type=bounded_int(1, MAX_STEPS), help="simulate N steps and list what fires when")
    p.add_argument("--steps-per-epoch", type=bounded_int(1, MAX_STEPS),
                   help="batches per epoch for --steps (default: all N in one epoch)")
    p.add_argument("--rank", choices=("main", "other"), default="main", help="simulate the main or another process")
    p.add_argument("--json", action="store_true", help="print the --steps schedule as JSON")
    p.add_argument("--root",
                   help="project root includes may not leave (default: the folder with pyproject.toml or .git)")
    p.add_argument("--allow-outside-root", action="store_true", help="let includes leave the project root")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from hookpipe.compiler.explain import explain_plan, schedule_table
    from hookpipe.compiler.schedule import simulate

    ctx = compile_or_usage(args.file, args.root, args.allow_outside_root)
    if isinstance(ctx, int):
        return ctx
    if has_errors(ctx.diagnostics) or ctx.plan is None:
        print_diagnostics([d for d in ctx.diagnostics if d.severity == "error"], ctx.sources)
        return 1
    if args.steps is None:
        if args.steps_per_epoch is not None or args.json:
            return usage_error("--steps-per-epoch and --json need --steps N")
        print(explain_plan(ctx.plan))
        return 0
    per_epoch = args.steps_per_epoch or args.steps
    if args.steps <= 0 or per_epoch <= 0:
        return usage_error("--steps and --steps-per-epoch must be positive")
    steps, cut = _within_limits(ctx.plan.trainer, args.steps, per_epoch)
    firings = simulate(ctx.plan, steps, per_epoch, main=args.rank == "main", acting=True)
    if args.json:
        print(json.dumps([f.to_json() for f in firings], indent=1))
        if cut:
            say(f"hookpipe explain: {cut}")
    else:
        print(schedule_table(firings))
        if cut:
            print(f"# {cut}")
        for name in sorted(ctx.plan.validation):
            print(f"# each `{name}` firing also runs its `validation {name} {{ }}` block over its own dataloader: "
                  "validation batches are not training steps, so they are not rows here (`hookpipe explain` "
                  "shows that block)")
    return 0


def _within_limits(trainer: Any, steps: int, per_epoch: int) -> tuple[int, str | None]:
    """``steps``, cut to where the file's own ``max_step``/``max_epoch`` end the run, and what was cut.

    Past that point the run never goes: listing it would show epochs that never
    start, and put the `at end` firings on a step the run never reaches.
    """
    from hookpipe.compiler.run_values import run_steps

    limits = {name: value for name in ("max_step", "max_epoch")
              if isinstance(value := trainer.get(name), int) and not isinstance(value, bool)}
    bounded = run_steps(limits.get("max_step"), limits.get("max_epoch"), per_epoch)
    if bounded is None or steps <= bounded:
        return steps, None
    settings = ", ".join(f"{name} = {value}" for name, value in limits.items())
    return bounded, (f"the run ends after {bounded:,} steps ({settings}, {per_epoch:,} steps per epoch): "
                     f"the {steps - bounded:,} steps past it that --steps {steps:,} asked for are not listed")
