"""The options of ``hookpipe run``, defined once for the CLI and ``python -m hookpipe.runtime.run``.

``hookpipe run`` (``hookpipe.commands.run``) and the module entry point that
``accelerate launch -m hookpipe.runtime.run`` starts take the same options with the
same help and the same rules; both build their parser here. Torch-free, so the
CLI builds ``run``'s parser without importing the runtime.
"""

from __future__ import annotations

import argparse

__all__ = ["add_run_arguments", "run_arguments_problem"]


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``run``'s positional ``FILE`` and its options to ``p``."""
    p.add_argument("file", metavar="FILE")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", type=_key_value,
                   help="override a value after merging, e.g. trainer.max_step=100 or hook.clip.max_norm=0.5")
    p.add_argument("--resume", metavar="DIR|latest|best|auto",
                   help="resume from a checkpoint folder, the newest one, or the best-ranked one (checkpoint monitor); "
                        "auto: the newest one if there is one, else a new run (for jobs that may be started again)")
    p.add_argument("--weights-from", metavar="DIR|latest",
                   help="start a new run (step 0, fresh optimizer) from the model weights of a checkpoint")
    p.add_argument("--check-effects", action="store_true",
                   help="stop at the first callback that writes a resource its hook does not declare (slower)")
    p.add_argument("--no-lint", action="store_true",
                   help="do not run the lint rules (HP1xx) before the first step")
    p.add_argument("--profile", action="store_true",
                   help="time every plan entry; print a per-hook table and write STEM.profile.json")
    p.add_argument("--profile-out", metavar="FILE", help="write the profile JSON here (implies --profile)")


def _key_value(text: str) -> str:
    """An argparse ``type`` for ``--set``: ``KEY=VALUE``, or a usage error (exit 2) naming what was given."""
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expects KEY=VALUE (e.g. trainer.max_step=100), got {text[:60]!r}")
    return text


def run_arguments_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with a parsed combination of options (None when nothing is)."""
    if args.resume is not None and args.weights_from is not None:
        return "--resume and --weights-from exclude each other: resume continues a run, --weights-from starts one"
    return None
