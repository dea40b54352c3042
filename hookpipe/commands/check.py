"""``hookpipe check PATH...``: parse, resolve, validate, build the graphs, lower.

Folders are searched for ``*.pipe`` files as ``lint`` searches them, and a file
that another found file includes is checked through its includer only. As in
``lint``, such files are found from their include lines before anything is
compiled (``hookpipe.lint.fragments``), and every file is parsed once per run.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from hookpipe.commands.common import (
    add_root_arguments,
    compile_or_usage,
    hint_other_kind,
    other_kind,
    print_diagnostics,
    say,
)

if TYPE_CHECKING:
    from hookpipe.compiler.class_effects import ClassLookup
    from hookpipe.compiler.context import Compilation


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("check", help="check .pipe files (exit 1 on any error)")
    p.add_argument("files", nargs="+", metavar="PATH", help="files, or folders searched recursively for *.pipe")
    add_root_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.add_argument("--resolve", action="store_true",
                   help="also import the factories, callbacks and hook classes the file names (runs user code) "
                   "and check the classes' own effects and `collective`")
    p.set_defaults(handler=main)


#: Errors shown of a file that is another kind of file (a YAML config given by mistake).
_OTHER_KIND_SHOWN = 3


def main(args: argparse.Namespace) -> int:
    status = 0
    errors = 0
    compiled = _compile_all(_expand(args.files), args)
    fragments = _fragments(compiled, set(args.files))
    for path, ctx in compiled:
        if isinstance(ctx, int):
            status = max(status, ctx)
            continue
        if path in fragments:
            continue
        found = [d for d in ctx.diagnostics if d.severity == "error"]
        if args.resolve and not found:
            from hookpipe.runtime.plan.verify import resolve_diagnostics

            found = resolve_diagnostics(ctx)
        if found:
            errors += len(found)
            status = max(status, 1)
            if other_kind(path, found):  # the reason first, then a taste of the errors, not a screenful
                hint_other_kind("check", path, found)
                print_diagnostics(found[:_OTHER_KIND_SHOWN], ctx.sources)
                if len(found) > _OTHER_KIND_SHOWN:
                    say(f"{path}: {len(found) - _OTHER_KIND_SHOWN} more syntax errors not shown")
                continue
            print_diagnostics(found, ctx.sources)
        elif not args.quiet:
            assert ctx.plan is not None
            say(f"{path}: ok (plan {ctx.plan.content_hash[:12]})", sys.stdout)
    if errors:
        print(f"hookpipe: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
    return status


def _compile_all(paths: list[str], args: argparse.Namespace) -> list[tuple[str, Compilation | int]]:
    """Each path's compilation (or usage error), in order; probable fragments only if no root read them."""
    from hookpipe.lint.fragments import leftovers, split
    from hookpipe.lint.runner import SharedParses, included_by

    parses = SharedParses()
    done: dict[str, Compilation | int] = {}

    def one(path: str) -> list[str]:
        classes: ClassLookup | None = None
        if args.resolve:
            from hookpipe.runtime.plan.verify import class_lookup_for  # imports torch and, per class, user code

            classes = class_lookup_for(path)
        ctx = done[path] = compile_or_usage(path, args.root, args.allow_outside_root, classes=classes,
                                            parse=parses.parse)
        return [] if isinstance(ctx, int) else included_by(ctx)

    order = split(paths, args.root, args.allow_outside_root, keep=set(args.files))
    covered = {key for path in order.roots for key in one(path)}
    leftovers(order.fragments, covered, one)
    return [(path, done[path]) for path in paths if path in done]


def _expand(paths: list[str]) -> list[str]:
    """Named files as given, folders as the ``*.pipe`` files below them (as ``lint`` finds them).

    A missing path stays in the list: compiling it reports it as a usage error.
    """
    from hookpipe.lint.discover import MissingPath, discover

    out: list[str] = []
    for path in paths:
        try:
            found = [t.path for t in discover([path])]
        except MissingPath:
            found = [path]
        if os.path.isdir(path) and not found:
            say(f"hookpipe: warning: no .pipe files found in {path}")
        out += [f for f in found if f not in out]
    return out


def _fragments(compiled: list[tuple[str, Compilation | int]], named: set[str]) -> set[str]:
    """Files found under a folder that another found file includes: checked through it, as lint does."""
    from hookpipe.lint.runner import file_key, included_by, is_fragment

    includes = {file_key(p): set(included_by(c)) for p, c in compiled if not isinstance(c, int)}
    return {p for p, c in compiled if p not in named and not isinstance(c, int) and is_fragment(file_key(p), includes)}
