"""``hookpipe run FILE [--set key=value]... [--resume DIR|latest|best] [--profile]``: train.

The only command that imports torch, and only once the file and the install have
been checked (:mod:`hookpipe.commands.run_input`).
"""

from __future__ import annotations

import argparse
import sys

from hookpipe.commands.run_input import file_problem, runtime_problem


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("run", help="train with the pipeline (works under `accelerate launch`)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value after merging, e.g. trainer.max_step=100 or hook.clip.max_norm=0.5")
    p.add_argument("--resume", metavar="DIR|latest|best",
                   help="resume from a checkpoint folder, the newest one, or the best-ranked one (checkpoint monitor)")
    p.add_argument("--weights-from", metavar="DIR|latest",
                   help="start a new run (step 0, fresh optimizer) from the model weights of a checkpoint")
    p.add_argument("--check-effects", action="store_true",
                   help="stop at the first callback that writes a resource its hook does not declare (slower)")
    p.add_argument("--no-lint", action="store_true",
                   help="do not run the lint rules (HP1xx) before the first step")
    p.add_argument("--profile", action="store_true",
                   help="time every plan entry; print a per-hook table and write STEM.profile.json")
    p.add_argument("--profile-out", metavar="FILE", help="write the profile JSON here (implies --profile)")
    p.add_argument("--processes", type=int, default=None, metavar="N",
                   help="start N processes on this machine (torch's elastic launcher, as accelerate launch does); "
                        "Ctrl-C or SIGTERM stops them all")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    problem = file_problem(args.file)
    if problem is None and args.resume is not None and args.weights_from is not None:
        problem = "--resume and --weights-from exclude each other: resume continues a run, --weights-from starts one"
    if problem is not None:
        print(f"hookpipe run: {problem}", file=sys.stderr)
        return 2
    if args.processes is not None and args.processes < 1:
        print(f"hookpipe run: --processes {args.processes}: give a number of processes, 1 or more", file=sys.stderr)
        return 2
    problem = runtime_problem()
    if problem is not None:
        print(f"hookpipe run: {problem}", file=sys.stderr)
        return 1
    if args.processes is not None and args.processes > 1:
        from hookpipe.runtime.distributed.launch import launch

        return launch(args.processes, _worker_args(args))
    from hookpipe.runtime.run import RunOptions, exit_process, profile_path, run_file  # heavy: torch, accelerate

    options = RunOptions(check_effects=args.check_effects, lint=not args.no_lint, weights_from=args.weights_from,
                         profile=profile_path(args.file, args.profile, args.profile_out))
    exit_process(int(run_file(args.file, args.sets, args.resume, options=options)))


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
