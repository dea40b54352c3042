"""``hookpipe run FILE [--set key=value]... [--resume DIR|latest|best]``: train.

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
    p.add_argument("--resume", metavar="DIR|latest|best",
                   help="resume from a checkpoint folder, the newest one, or the best-ranked one (checkpoint monitor)")
    p.add_argument("--check-effects", action="store_true",
                   help="stop at the first callback that writes a resource its hook does not declare (slower)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> NoReturn:
    from hookpipe.runtime.run import exit_process, run_file  # heavy: torch, accelerate

    exit_process(int(run_file(args.file, args.sets, args.resume, args.check_effects)))
