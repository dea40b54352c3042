"""``hookpipe run FILE [--set key=value]... [--resume DIR|latest] [--profile]``: train.

The only command that imports torch, and only once it is asked to run.
"""

from __future__ import annotations

import argparse
from typing import NoReturn


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("run", help="train with the pipeline (works under `accelerate launch`)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value after merging, e.g. trainer.max_step=100 or hook.clip.max_norm=0.5")
    p.add_argument("--resume", metavar="DIR|latest", help="resume from a checkpoint folder, or the newest one")
    p.add_argument("--check-effects", action="store_true",
                   help="stop at the first callback that writes a resource its hook does not declare (slower)")
    p.add_argument("--profile", action="store_true",
                   help="time every plan entry; print a per-hook table and write STEM.profile.json")
    p.add_argument("--profile-out", metavar="FILE", help="write the profile JSON here (implies --profile)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> NoReturn:
    from hookpipe.runtime.run import exit_process, profile_path, run_file  # heavy: torch, accelerate

    profile = profile_path(args.file, args.profile, args.profile_out)
    exit_process(int(run_file(args.file, args.sets, args.resume, args.check_effects, profile)))
