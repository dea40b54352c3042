"""Helpers the subcommands share: reading files and printing diagnostics."""

from __future__ import annotations

import os
import sys
from typing import Iterable, TextIO

from hookpipe.compiler.class_effects import ClassLookup
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.pipeline import compile_path
from hookpipe.diagnostics import Diagnostic, Sources, format_diagnostic, sort_diagnostics


def usage_error(message: str) -> int:
    print(f"hookpipe: error: {message}", file=sys.stderr)
    return 2


def compile_or_usage(path: str, root: str | None = None, allow_outside_root: bool = False,
                     classes: ClassLookup | None = None) -> Compilation | int:
    """Compile ``path``; a file that cannot be read is a usage error (exit 2), not a traceback."""
    if not os.path.isfile(path):
        return usage_error(f"{path}: no such file")
    try:
        return compile_path(path, root=root, allow_outside_root=allow_outside_root, classes=classes)
    except UnicodeDecodeError as exc:
        print(f"{path}:1:1: HP001 error: the file is not valid UTF-8 (byte {exc.start})", file=sys.stderr)
        return 1
    except OSError as exc:
        return usage_error(f"{path}: {exc.strerror or exc}")


def print_diagnostics(diagnostics: Iterable[Diagnostic], sources: Sources, stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    for d in sort_diagnostics(list(diagnostics)):
        print(format_diagnostic(d, sources), file=out)
        print(file=out)
