"""The ``hookpipe`` command line: one subcommand per module in ``hookpipe.commands``.

Exit codes: 0 success, 1 the input has errors (or training failed), 2 usage
errors (a missing file, a bad flag). A user mistake never prints a traceback.
A reader of the output going away (``hookpipe lint FILE | head``) changes neither:
the rest of that output is discarded (``hookpipe.closed_output``).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import sys
from typing import Sequence

from hookpipe.closed_output import guarded_output

#: Subcommand modules; each has ``add_parser(subparsers)`` and ``main(args) -> int``.
COMMANDS: tuple[str, ...] = (
    "hookpipe.commands.check",
    "hookpipe.commands.explain",
    "hookpipe.commands.lint",
    "hookpipe.commands.run",
    "hookpipe.commands.fmt",
    "hookpipe.commands.render",
    "hookpipe.commands.diff",
    "hookpipe.commands.init",
    "hookpipe.commands.import_",
    "hookpipe.commands.lsp",
)
#: Subcommands whose module name differs from the command (``import`` is a Python keyword).
MODULE_OF = {"import": "import_"}

#: Commands that do their work and exit (``run`` trains, ``lsp`` serves).
ONE_SHOT = frozenset({"check", "explain", "lint", "fmt", "render", "diff", "init", "import"})


class _Parser(argparse.ArgumentParser):
    #: The subcommands' parsers, by name (the top-level parser only): an unknown flag is reported
    #: with the usage of the command it was given to, not ``hookpipe [-h] [--version] {lint} ...``.
    commands: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> None:  # type: ignore[override]
        from hookpipe.escaping import escape  # the message quotes the command line: a path, a flag's value

        self.print_usage(sys.stderr)
        self.exit(2, f"hookpipe: error: {escape(message)}\n")


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
    chosen = f"hookpipe.commands.{MODULE_OF.get(only or '', only)}"
    for name in (chosen,) if chosen in COMMANDS else COMMANDS:
        importlib.import_module(name).add_parser(sub)
    parser.commands = dict(sub.choices)
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``, with an unknown argument reported by the subcommand's parser.

    argparse leaves the arguments a subcommand does not know to the top-level
    parser, whose error shows the top-level usage (``hookpipe [-h] [--version]
    {lint} ...``): no help for the command that was run. Here the subcommand
    says it, with its own usage line (``hookpipe lint [-h] ...``).
    """
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = parser.commands if isinstance(parser, _Parser) else {}
        commands.get(getattr(args, "command", None) or "", parser).error(
            f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "lsp":  # a server whose editor has gone must stop, not talk on to os.devnull
        return _main(argv)
    # A reader of stdout or stderr going away (`hookpipe ... | head`, a pager quit early)
    # ends nothing: the rest of that output is discarded (hookpipe/closed_output.py).
    with guarded_output():
        return _main(argv)


def _main(argv: list[str]) -> int:
    args = parse(build_parser(argv[0] if argv else None), argv)
    if args.command in ONE_SHOT:
        _no_collection_at_exit()
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("hookpipe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # a write past the guard (a binary one); leaving the guard points it at os.devnull
        return 1


def _no_collection_at_exit() -> None:
    """Leave what a one-shot command built to the end of the process instead of collecting it.

    Everything such a command allocates (the compiler's modules, pydantic's
    schemas, the compilation) lives until the process ends, yet the interpreter's
    last garbage collection scans all of it: about 4% of a one-file lint.
    ``gc.freeze()`` at exit puts it out of the collector's sight; reference
    counting still frees it as the modules are torn down. Registered once however
    often ``main`` runs in one process (the tests call it in-process).
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


if __name__ == "__main__":
    sys.exit(main())
