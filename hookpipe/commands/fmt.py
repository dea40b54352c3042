"""``hookpipe fmt PATH... [--check] [--diff]``: canonical formatting of .pipe files.

Folders are searched for ``*.pipe`` exactly as ``hookpipe lint`` searches them
(hidden folders, ``node_modules``, ``site-packages`` skipped), so fmt never writes
a file lint would not check. Without flags files are rewritten in place,
atomically. ``--check`` writes nothing and exits 1 when a file would change (the
CI gate); ``--diff`` prints the changes as a unified diff instead of writing.

A file is left alone, with a message and exit 1, when it has syntax errors, when
it is a symlink or read-only (rewriting would replace the link with a copy, or
override the owner's choice), when hookpipe refuses to read it (see
``hookpipe.fileaccess``), when formatting would move code under a different
``# hookpipe: ignore[...]`` (lint findings would change), or when a comment would
not survive (a formatter bug, reported as one). The summary counts such files as
not formatted, so it never reads as a clean run when the exit status is 1. A file
whose canonical form would join a value onto a line over the parser's line limit
is left as written, with a message, and is not a failure: fmt does not wrap values.
"""

from __future__ import annotations

import argparse
import difflib
import os
import stat
import sys
from pathlib import Path

from hookpipe.commands.common import print_diagnostics, say, usage_error
from hookpipe.diagnostics import Sources
from hookpipe.dsl.formatter import format_text
from hookpipe.dsl.parser import MAX_LINE_CHARS, parse_text
from hookpipe.escaping import escape
from hookpipe.fileaccess import Refused, display_name, project_root, read_source
from hookpipe.fileio import OutputError, write_atomic
from hookpipe.lint.discover import MissingPath, discover
from hookpipe.lint.preserve import keeps_comments, keeps_suppressions
from hookpipe.span import source_lines


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("fmt", help="format .pipe files canonically (folders are searched for *.pipe)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would be reformatted")
    p.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of the changes")
    p.set_defaults(handler=main)


def pipe_files(paths: list[str]) -> list[Path] | str:
    """The files to format (lint's discovery), or the first path that does not exist (a usage error)."""
    try:
        return [Path(t.path) for t in discover(paths)]
    except MissingPath as exc:
        return str(exc).rsplit(": ", 1)[0]


def main(args: argparse.Namespace) -> int:
    files = pipe_files(args.paths)
    if isinstance(files, str):
        return usage_error(f"{files}: no such file or folder")
    status, changed, unformattable, syntax, kept = 0, 0, 0, 0, 0
    writing = not (args.check or args.diff)
    for path in files:
        display = display_name(path)
        left_alone = _left_alone(path) if writing else None
        if left_alone is not None:
            say(f"{display}: left alone: {left_alone}")
            status = 1
            unformattable += 1
            continue
        try:
            text = read_source(path, project_root(path))
        except Refused as exc:
            say(f"{display}: not formatted: the file {exc.reason}")
            status = 1
            unformattable += 1
            continue
        result = format_text(text, display)
        if result.text is None:
            print_diagnostics(result.diagnostics, Sources({display: text}))
            say(f"{display}: not formatted (syntax errors)")
            status = 1
            unformattable += 1
            syntax += 1
            continue
        if result.text == text:
            continue
        longest = max(map(len, result.text.split("\n")))
        if longest > MAX_LINE_CHARS:  # the parser's line limit: the joined value would not read back
            say(f"{display}: left as written: formatting would join a value onto one line of {longest:,} "
                f"characters, over the {MAX_LINE_CHARS:,}-character line limit (fmt does not wrap values)")
            kept += 1
            continue
        refusal = _refusal(text, result.text, display)
        if refusal is not None:
            say(f"{display}: not formatted: {refusal}")
            status = 1
            unformattable += 1
            continue
        changed += 1
        if args.diff:
            # The file's lines are a pull request's text: escaped like every value hookpipe prints.
            sys.stdout.writelines(_shown(line) for line in difflib.unified_diff(
                source_lines(text, keepends=True), source_lines(result.text, keepends=True),
                fromfile=f"a/{display}", tofile=f"b/{display}"))
        if args.check:
            say(f"would reformat {display}")
            status = 1
        elif writing:
            try:
                write_atomic(path, result.text)
            except OutputError as exc:
                say(f"{display}: not formatted: {exc}")
                status = 1
                changed -= 1
                unformattable += 1
                continue
            say(f"reformatted {display}")
    verb = "would reformat" if args.check or args.diff else "reformatted"
    plural = "s" if len(files) != 1 else ""
    why = "syntax errors: fix them first" if syntax == unformattable else "see above"
    broken = f", {unformattable} not formatted ({why})" if unformattable else ""
    broken += f", {kept} left as written (a value too long for one line)" if kept else ""
    say(f"hookpipe fmt: {len(files)} file{plural}, {changed} {verb}{broken}")
    return status


def _left_alone(path: Path) -> str | None:
    """Why fmt must not rewrite ``path`` in place (None: it may)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symlink (format the file it points to)"
    if stat.S_ISREG(info.st_mode) and not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return "it is read-only"
    return None


def _refusal(before: str, after: str, display: str) -> str | None:
    """Why the formatted text must not replace ``before`` (None: it may), each reason with what to do.

    Suppressions are named only when a token would change the ones it is under, which
    needs a real ``# hookpipe: ignore[...]`` comment: blaming one the file does not have
    sends its author looking for nothing.
    """
    old, new = parse_text(before, display).file, parse_text(after, display).file
    if old is None or new is None:
        return "the formatted text would not parse; this is a bug in hookpipe fmt: please report it with the file"
    if not keeps_comments(old, new):
        return ("formatting would lose or change a comment; this is a bug in hookpipe fmt: please report it "
                "with the file")
    if not keeps_suppressions(old, before, new, after):
        return ("it would move code onto or off a line with a `# hookpipe: ignore[...]` comment (lint findings "
                "would change); put that comment on a line of its own code, or join the lines yourself")
    return None


def _shown(line: str) -> str:
    """One line of the diff as printed: control, bidi and command characters escaped, the newline kept."""
    body = line[:-1] if line.endswith("\n") else line
    return escape(body, keep_tabs=True) + line[len(body):]
