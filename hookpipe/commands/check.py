"""``hookpipe check FILE...``: parse, resolve, validate, build the graphs, lower."""

from __future__ import annotations

import argparse
import sys

from hookpipe.commands.common import compile_or_usage, print_diagnostics
from hookpipe.compiler.class_effects import ClassLookup


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("check", help="check .pipe files (exit 1 on any error)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--root",
                   help="project root includes may not leave (default: the folder with pyproject.toml or .git)")
    p.add_argument("--allow-outside-root", action="store_true", help="let includes leave the project root")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.add_argument("--resolve", action="store_true",
                   help="also import the factories, callbacks and hook classes the file names (runs user code) "
                   "and check the classes' own effects and `collective`")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    status = 0
    errors = 0
    classes: ClassLookup | None = None
    if args.resolve:
        from hookpipe.runtime.verify import class_lookup  # imports torch and, per class, user code

        classes = class_lookup
    for path in args.files:
        ctx = compile_or_usage(path, args.root, args.allow_outside_root, classes=classes)
        if isinstance(ctx, int):
            status = max(status, ctx)
            continue
        found = [d for d in ctx.diagnostics if d.severity == "error"]
        if args.resolve and not found:
            from hookpipe.runtime.verify import resolve_diagnostics

            found = resolve_diagnostics(ctx)
        if found:
            print_diagnostics(found, ctx.sources)
            errors += len(found)
            status = max(status, 1)
        elif not args.quiet:
            assert ctx.plan is not None
            print(f"{path}: ok (plan {ctx.plan.content_hash[:12]})")
    if errors:
        print(f"hookpipe: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
    return status
