"""``hookpipe run FILE [--set key=value]... [--resume DIR|latest|best] [--profile]``: train.

The only command that imports torch, and only once the file and the install have
been checked (:mod:`hookpipe.commands.run_input`).
"""

from __future__ import annotations

import argparse

from hookpipe.commands.common import say
from hookpipe.commands.run_input import file_problem, runtime_problem
from hookpipe.run_arguments import add_run_arguments, run_arguments_problem


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("run", help="train with the pipeline (works under `accelerate launch`)")
    add_run_arguments(p)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    problem = file_problem(args.file) or run_arguments_problem(args)
    if problem is not None:
        say(f"hookpipe run: {problem}")
        return 2
    problem = runtime_problem()
    if problem is not None:
        say(f"hookpipe run: {problem}")
        return 1
    from hookpipe.runtime.distributed.teardown import exit_process  # heavy: torch, accelerate
    from hookpipe.runtime.run import RunOptions, profile_path, run_file

    options = RunOptions(check_effects=args.check_effects, lint=not args.no_lint, weights_from=args.weights_from,
                         profile=profile_path(args.file, args.profile, args.profile_out))
    exit_process(int(run_file(args.file, args.sets, args.resume, options=options)))
