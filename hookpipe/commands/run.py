"""``hookpipe run FILE [--set key=value]... [--resume DIR|latest|best] [--profile]``: train.

The only command that imports torch, and only once the file and the install have
been checked (:mod:`hookpipe.commands.run_input`).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from hookpipe.commands.common import say
from hookpipe.commands.run_input import file_problem, runtime_problem
from hookpipe.run_arguments import add_run_arguments, run_arguments_problem


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("run", help="train with the pipeline (works under `accelerate launch`)")
    add_run_arguments(p)
    p.add_argument("--processes", type=int, default=None, metavar="N",
                   help="start N processes on this machine (torch's elastic launcher, as accelerate launch does); "
                        "Ctrl-C or SIGTERM stops them all")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    # Until the run installs its own handler (importing torch and accelerate takes seconds), a SIGTERM (a job
    # cancelled at once) says so, as Ctrl-C does, instead of ending the process without a word.
    previous = signal.signal(signal.SIGTERM, _terminated_starting) if _main_thread() else None
    try:
        return _start(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _start(args: argparse.Namespace) -> int:
    problem = file_problem(args.file) or run_arguments_problem(args)
    if problem is not None:
        say(f"hookpipe run: {problem}")
        return 2
    if args.processes is not None and args.processes < 1:
        say(f"hookpipe run: --processes {args.processes}: give a number of processes, 1 or more")
        return 2
    problem = runtime_problem()
    if problem is not None:
        say(f"hookpipe run: {problem}")
        return 1
    if args.processes is not None and args.processes > 1:
        from hookpipe.runtime.distributed.launch import launch

        return launch(args.processes, _worker_args(args))
    from hookpipe.runtime.distributed.teardown import exit_process  # heavy: torch, accelerate
    from hookpipe.runtime.run import RunOptions, profile_path, run_file

    options = RunOptions(check_effects=args.check_effects, lint=not args.no_lint, weights_from=args.weights_from,
                         profile=profile_path(args.file, args.profile, args.profile_out))
    exit_process(int(run_file(args.file, args.sets, args.resume, options=options)))


def _terminated_starting(signum: int, frame: object) -> None:
    """Nothing is written yet, and an exception raised inside an import can be caught there: exit at once."""
    say("hookpipe run: terminated while starting (nothing trained)")
    os._exit(143)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _worker_args(args: argparse.Namespace) -> list[str]:
    """The command line each launched process runs (``python -m hookpipe.runtime.run ...``)."""
    out = [args.file]
    for item in args.sets:
        out += ["--set", item]
    for flag, value in (("--resume", args.resume), ("--weights-from", args.weights_from),
                        ("--profile-out", args.profile_out)):
        if value is not None:
            out += [flag, value]
    out += [flag for flag, on in (("--check-effects", args.check_effects), ("--no-lint", args.no_lint),
                                  ("--profile", args.profile)) if on]
    return out
