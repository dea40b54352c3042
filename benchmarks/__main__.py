"""``python -m benchmarks [all|runtime|processor|hooks|distributed|checkpoint|compiler|instructions] [--rounds N] [--steps N] [--device cpu|cuda]``.

Prints markdown tables and, for ``all``, writes ``benchmarks/RESULTS.md`` with the
machine, versions, date and method. Peers (RoboOrchard Lab, Ignite) are installed
into ``benchmarks/.venvs/`` on first use (see :mod:`benchmarks.peers`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    p.add_argument("what", nargs="?", default="all", choices=("all", "runtime", "processor", "hooks", "distributed",
                                                            "checkpoint", "compiler", "instructions"))
    p.add_argument("--rounds", type=int, default=7, help="interleaved repetitions (medians over them; at least 5)")
    p.add_argument("--steps", type=int, default=3000, help="timed training steps per run")
    p.add_argument("--warmup", type=int, default=300, help="untimed steps before them")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the runtime contenders train (cuda: bf16 autocast; needs a GPU build of torch)")
    p.add_argument("--clock", choices=("wall", "process"), default="wall",
                   help="time steps by wall clock, or by the worker's CPU time (for a machine shared with other work)")
    p.add_argument("--no-install", action="store_true", help="do not install missing peers")
    p.add_argument("--baseline", metavar="REV",
                   help="compiler section: also measure the code of this git revision, interleaved, and report the speed-up")
    p.add_argument("--output", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args(argv)
    if args.device == "cuda" and args.clock == "process":
        p.error("--clock process measures nothing of a GPU's work; use the wall clock with --device cuda")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            p.error("--device cuda: torch sees no CUDA device here (a CPU build, or no GPU)")
    sections = []
    load_at_start = report.load_average()
    if args.what in ("all", "runtime"):
        from benchmarks.runtime import driver

        print("runtime benchmark (interleaved; progress on stderr)", file=sys.stderr)
        field = driver.run(rounds=args.rounds, warmup=args.warmup, steps=args.steps, install=not args.no_install,
                           device=args.device, clock=args.clock)
        print("hook-cost pass (tiny workload, interleaved)", file=sys.stderr)
        hook_steps = args.steps * 2
        hooks = driver.run(rounds=args.rounds, warmup=args.warmup, steps=hook_steps, install=not args.no_install,
                           device=args.device, clock=args.clock, workload="tiny", configs=driver.HOOK_CONFIGS)
        sections.append(report.runtime_section(field, args.rounds, args.warmup, args.steps, args.device, args.clock,
                                               hooks=hooks, hook_steps=hook_steps))
        if args.device == "cpu":
            from benchmarks import step_work

            print("Python work per step (counted under sys.settrace)", file=sys.stderr)
            sections.append(step_work.section(step_work.measure()))
    if args.what in ("all", "processor") and args.device == "cpu":
        from benchmarks import processor

        print("custom-processor benchmark (BatchProcessorMixin.__call__, interleaved)", file=sys.stderr)
        sections.append(processor.section(processor.run(args.rounds, args.warmup, args.steps, not args.no_install,
                                                        args.clock), args.rounds, args.warmup, args.steps))
        from benchmarks import step_work

        print("Python work per step of the custom-processor workload (counted under sys.settrace)", file=sys.stderr)
        sections.append(step_work.section(step_work.measure(processor="custom"), "custom"))
        from benchmarks import step_parts

        print("the parts of a seed-API step, in the loop and alone (one process)", file=sys.stderr)
        sections.append(step_parts.section(step_parts.measure(), step_parts.ROUNDS, step_parts.STEPS))
    if args.what in ("all", "hooks"):
        from benchmarks import hook_dispatch

        print("per-hook dispatch benchmark", file=sys.stderr)
        sections.append(hook_dispatch.section(hook_dispatch.measure()))
    if args.what in ("all", "distributed"):
        from benchmarks import distributed

        print("distributed benchmark (2 processes, interleaved)", file=sys.stderr)
        dsteps, dwarm = max(200, args.steps // 3), max(50, args.warmup // 3)
        sections.append(distributed.section(distributed.run(rounds=args.rounds, warmup=dwarm, steps=dsteps),
                                            args.rounds, dwarm, dsteps))
    if args.what in ("all", "checkpoint"):
        from benchmarks import checkpoint

        print("checkpoint benchmark (>= 1 GB state, interleaved)", file=sys.stderr)
        crounds = args.rounds
        sections.append(checkpoint.section(checkpoint.run(crounds), crounds))
    if args.what in ("all", "compiler"):
        from benchmarks import compiler

        print("compiler benchmark", file=sys.stderr)
        sections.append(report.compiler_section(compiler.run(rounds=args.rounds, baseline=args.baseline), args.rounds,
                                                  args.baseline))
    if args.what in ("all", "instructions") and args.device == "cpu":
        from benchmarks import instructions

        # Last: it does not depend on the machine's load, so other work may start beside it.
        print("instructions per step (callgrind; about two minutes per process)", file=sys.stderr)
        sections.append(instructions.section(instructions.measure() if instructions.available() else None))
    text = report.document(sections, " ".join(["python -m benchmarks", *(argv or sys.argv[1:])]),
                           (load_at_start, report.load_average()))
    print(text)
    if args.what == "all":
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
