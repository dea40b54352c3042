"""``hookpipe fmt PATH... [--check] [--diff]``: canonical formatting of .pipe files.

Folders are searched recursively for ``*.pipe`` (sorted, so output is stable).
Without flags files are rewritten in place, atomically. ``--check`` writes
nothing and exits 1 when a file would change (the CI gate); ``--diff`` prints the
changes as a unified diff instead of writing. A file with syntax errors is left
alone: its diagnostics are printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from hookpipe.commands.common import print_diagnostics, usage_error
from hookpipe.compiler.loader import read_source
from hookpipe.diagnostics import Sources
from hookpipe.dsl.formatter import format_text
from hookpipe.fileio import write_atomic


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("fmt", help="format .pipe files canonically (folders are searched for *.pipe)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would be reformatted")
    p.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of the changes")
    p.set_defaults(handler=main)


def pipe_files(paths: list[str]) -> list[Path] | str:
    """The files to format, or the first path that does not exist (a usage error)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.pipe") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            return name
    return found


def main(args: argparse.Namespace) -> int:
    files = pipe_files(args.paths)
    if isinstance(files, str):
        return usage_error(f"{files}: no such file or folder")
    status, changed, unformattable = 0, 0, 0
    for path in files:
        display = str(path)
        try:
            text = read_source(path)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{display}: cannot read: {exc}", file=sys.stderr)
            status = 1
            continue
        result = format_text(text, display)
        if result.text is None:
            print_diagnostics(result.diagnostics, Sources({display: text}))
            print(f"{display}: not formatted (syntax errors)", file=sys.stderr)
            status = 1
            unformattable += 1
            continue
        if result.text == text:
            continue
        changed += 1
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(keepends=True), result.text.splitlines(keepends=True),
                fromfile=f"a/{display}", tofile=f"b/{display}"))
        if args.check:
            print(f"would reformat {display}", file=sys.stderr)
            status = 1
        elif not args.diff:
            write_atomic(path, result.text)
            print(f"reformatted {display}", file=sys.stderr)
    verb = "would reformat" if args.check or args.diff else "reformatted"
    plural = "s" if len(files) != 1 else ""
    broken = f", {unformattable} not formatted (syntax errors: fix them first)" if unformattable else ""
    print(f"hookpipe fmt: {len(files)} file{plural}, {changed} {verb}{broken}", file=sys.stderr)
    return status
