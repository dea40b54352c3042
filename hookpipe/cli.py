"""The ``hookpipe`` command line: one subcommand per module in ``hookpipe.commands``.

Exit codes: 0 success, 1 the input has errors (or training failed), 2 usage
errors (a missing file, a bad flag). A user mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

#: Subcommand modules; each has ``add_parser(subparsers)`` and ``main(args) -> int``.
COMMANDS: tuple[str, ...] = (
    "hookpipe.commands.check",
    "hookpipe.commands.explain",
    "hookpipe.commands.lint",
    "hookpipe.commands.run",
    "hookpipe.commands.fmt",
    "hookpipe.commands.render",
    "hookpipe.commands.lsp",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"hookpipe: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``only`` when it names one.

    Each subcommand module imports what it needs; building just the one being
    run keeps the others' imports out of its start-up (``hookpipe lsp`` must
    answer an editor quickly).
    """
    from hookpipe import __version__

    parser = _Parser(prog="hookpipe", description="Declare, check and run the hook order of PyTorch training loops.")
    parser.add_argument("--version", action="version", version=f"hookpipe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    chosen = f"hookpipe.commands.{only}"
    for name in (chosen,) if chosen in COMMANDS else COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("hookpipe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
