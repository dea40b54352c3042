"""Helpers the subcommands share: reading files and printing diagnostics.

Every subcommand module imports this one to build its parser, so it imports the
compiler only inside the helpers that compile: ``hookpipe --help``, ``--version``
and ``fmt`` never load it (nor pydantic).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Callable, Iterable, Sequence, TextIO

from hookpipe.diagnostics import Diagnostic, Sources, cap_per_file, format_diagnostic, sort_diagnostics
from hookpipe.escaping import escape
from hookpipe.fileaccess import display_name

if TYPE_CHECKING:
    from hookpipe.compiler.class_effects import ClassLookup
    from hookpipe.compiler.context import Compilation
    from hookpipe.compiler.loader import Parse


def add_root_arguments(p: argparse.ArgumentParser, outside: bool = True) -> None:
    """``--root DIR`` (and ``--allow-outside-root``) for every command that reads a file's includes.

    One wording for all of them: the compiler's refusal names these flags for each
    command that takes them, so what the help says and what the flag does cannot part.
    """
    p.add_argument("--root", metavar="DIR",
                   help="project root includes may not leave (default: the folder with pyproject.toml or .git "
                   "above each file); a monorepo whose files include shared ones elsewhere in it sets one")
    if outside:
        p.add_argument("--allow-outside-root", action="store_true",
                       help="let includes leave the project root (trusted input only: never on a pull request's "
                       "files)")


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` for an integer flag in [low, high]: a huge or negative value is a usage error.

    ``explain --steps 10**12`` would simulate for hours, ``--jobs 100000`` fork a
    process each; the bounds say what makes sense and argparse prints them.
    """
    def parse(text: str) -> int:
        digits = text.strip().replace("_", "")
        try:
            value = int(digits) if len(digits.lstrip("+-")) <= 19 else high + 1
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:,} and {high:,}, got {text[:40]}")
        return value

    parse.__name__ = "integer"
    return parse


def usage_error(message: str) -> int:
    """Print a one-line usage error (escaped: it may quote a path, a TOML key, a selector); exit status 2."""
    say(f"hookpipe: error: {message}")
    return 2


def say(line: str, stream: TextIO | None = None) -> None:
    """Print one line of a command's report to stderr (or ``stream``), escaped as a whole.

    The one path for single-line messages that may quote the user's paths or values:
    ``escape`` is idempotent, so a part escaped already is not escaped twice.
    """
    print(escape(line), file=stream or sys.stderr)


#: Configs of the trainers ``hookpipe import`` converts, by suffix: what to run instead.
_IMPORTABLE = {".yaml": "lightning", ".yml": "lightning", ".py": "mmengine", ".json": "robo"}


def other_kind(path: str, found: Sequence[Diagnostic]) -> bool:
    """Whether ``path`` is not named ``.pipe`` and every error in ``found`` is a syntax error: another kind of file."""
    return bool(found) and not path.endswith(".pipe") and all(d.code == "HP001" for d in found)


def hint_other_kind(command: str, path: str, found: Sequence[Diagnostic]) -> None:
    """One line on stderr when ``path`` is another kind of file (:func:`other_kind`), naming the import that fits.

    A Python or YAML file given by mistake otherwise gets a screenful of HP001
    errors and nothing saying why; on stderr, a report's format stays as asked.
    """
    if other_kind(path, found):
        source = _IMPORTABLE.get(os.path.splitext(path)[1].lower())
        convert = (f"; a {'LightningCLI' if source == 'lightning' else source} config? convert it with "
                   f"`hookpipe import {source} {path} -o train.pipe`") if source is not None else ""
        say(f"{path}: only syntax errors, and the name does not end in .pipe: "
            f"hookpipe {command} reads .pipe files (is this another kind of file?){convert}")


def compile_or_usage(path: str, root: str | None = None, allow_outside_root: bool = False,
                     for_drawing: bool = False, classes: ClassLookup | None = None,
                     parse: Parse | None = None) -> Compilation | int:
    """Compile ``path``; a missing file is a usage error (exit 2), one hookpipe refuses to read a diagnostic.

    ``parse`` replaces the parser: ``check`` of many files shares one ``SharedParses``.
    """
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.dsl.parser import parse_text

    if "\0" in path or not os.path.lexists(path):
        return usage_error(f"{display_name(path)}: no such file")
    return compile_path(path, root=root, allow_outside_root=allow_outside_root, for_drawing=for_drawing,
                        classes=classes, parse=parse or parse_text)


def print_diagnostics(diagnostics: Iterable[Diagnostic], sources: Sources, stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    for d in sort_diagnostics(cap_per_file(sort_diagnostics(list(diagnostics)))):
        print(format_diagnostic(d, sources), file=out)
        print(file=out)
