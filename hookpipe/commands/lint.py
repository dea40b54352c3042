"""``hookpipe lint PATH...``: every compiler check plus the HP1xx warnings.

Exit 0 when nothing is at or above the failing level (errors, or warnings too
with --warnings-as-errors), 1 when something is (0 with --exit-zero), 2 for usage
or internal errors. The flags follow ruff's where both have one.
Never imports torch, accelerate or user code, unless ``--resolve`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from hookpipe.commands.common import add_root_arguments, bounded_int, hint_other_kind, say, usage_error
from hookpipe.fileaccess import display_name
from hookpipe.lint.formats import FORMATS

if TYPE_CHECKING:
    from hookpipe.lint.runner import LintResult


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from hookpipe.lint.config import code_ranges

    warnings, errors = code_ranges("warning"), code_ranges("error")
    p = sub.add_parser("lint", help=f"check .pipe files and report lint warnings ({warnings})",
                       description=f"Lint .pipe files: every compiler check (the errors {errors}) plus the "
                       f"warnings {warnings}. Exit 0 clean, 1 findings at the failing level, 2 usage error.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files, or folders searched recursively for *.pipe")
    p.add_argument("--format", "--output-format", dest="format", choices=tuple(FORMATS), default="text",
                   help="report format (default: text; `--output-format` is ruff's name for it)")
    p.add_argument("--select", action="append", metavar="CODES",
                   help=f"comma-separated codes or prefixes of the warnings to report ({warnings}, or a prefix "
                   "such as HP10; default: ALL)")
    p.add_argument("--ignore", action="append", metavar="CODES", help="comma-separated codes or prefixes to skip")
    p.add_argument("--warnings-as-errors", action="store_true", default=None,
                   help="report warnings as errors (and fail on them)")
    p.add_argument("--exit-zero", action="store_true",
                   help="exit 0 even when something is at the failing level (2 still means a usage or internal "
                   "error): for a CI step that uploads the report and fails elsewhere")
    p.add_argument("--statistics", action="store_true",
                   help="print how many findings of each code instead of the findings (text or json)")
    p.add_argument("--explain", metavar="CODE",
                   help=f"print the documentation page of a code ({code_ranges()}) and exit")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the report to FILE instead of standard output (a regular file or a new name; "
                   "`-` is standard output)")
    add_root_arguments(p)
    p.add_argument("--jobs", type=bounded_int(1, 256), metavar="N",
                   help="worker processes (default: one per CPU for large runs)")
    p.add_argument("--resolve", action="store_true",
                   help="import the factories and hook classes the files name (runs user code) and check the "
                   "classes' own effects and `collective`, as `check --resolve` does")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the text report (auto: only on a terminal, and not when NO_COLOR is set)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    if args.explain is not None:
        return _explain(args.explain)
    if not args.paths:
        return usage_error("lint needs at least one PATH (or --explain CODE)")
    if args.root is not None and ("\0" in args.root or not os.path.isdir(args.root)):
        return usage_error(f"--root {display_name(args.root)}: not a folder (give the folder includes may "
                           "not leave, e.g. the repository's top: `--root .`)")
    if args.statistics and args.format not in ("text", "json"):
        return usage_error(f"--statistics prints a table (text) or a list (json), not {args.format}; "
                           "drop --statistics for a report in that format")
    try:
        return _lint(args)
    except Exception:  # noqa: BLE001 - an internal error must say so and exit 2, not 1
        import traceback

        print("hookpipe: internal error while linting; please report it with this trace:", file=sys.stderr)
        traceback.print_exc()
        return 2


def _explain(code: str) -> int:
    from hookpipe.lint.pages import page

    try:
        text = page(code.strip().upper())
    except FileNotFoundError:
        from hookpipe.lint.config import code_ranges

        return usage_error(f"--explain: no such code `{code}` (codes are {code_ranges()})")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _lint(args: argparse.Namespace) -> int:
    from hookpipe.lint.config import ConfigError, Overrides, split
    from hookpipe.lint.discover import MissingPath
    from hookpipe.lint.runner import RootRule, lint_paths

    try:
        overrides = Overrides(split(args.select), split(args.ignore), args.warnings_as_errors)
        resolver = None
        if args.resolve:  # imports torch and user code
            from hookpipe.lint.runner import Resolver
            from hookpipe.runtime.plan.verify import class_lookup_for, resolve_diagnostics

            resolver = Resolver(class_lookup_for, resolve_diagnostics)
        result = lint_paths(args.paths, overrides, jobs=args.jobs, resolver=resolver,
                            root_rule=RootRule(args.root, args.allow_outside_root))
    except (ConfigError, MissingPath) as exc:
        return usage_error(str(exc))
    except OSError as exc:
        return usage_error(f"{exc.filename}: {exc.strerror or exc}")
    if not result.files:
        say(f"hookpipe: warning: no .pipe files found in {' '.join(args.paths)}")
    _hint_other_kinds(args.paths, result)
    to_file = bool(args.output) and args.output != "-"
    report = _report(args, result, not to_file and _colour(args.color, sys.stdout))
    if to_file:
        from hookpipe.fileio import OutputError, write_atomic

        try:
            write_atomic(args.output, report)
        except OutputError as exc:
            return usage_error(str(exc))
    else:
        sys.stdout.write(report)
    return 1 if result.failed and not args.exit_zero else 0


def _report(args: argparse.Namespace, result: "LintResult", colour: bool) -> str:
    if args.statistics:
        from hookpipe.lint.formats import statistics

        return statistics.render(args.format, result)
    from hookpipe.lint.formats import render

    return render(args.format, result, colour)


def _hint_other_kinds(paths: list[str], result: "LintResult") -> None:
    """``check``'s hint for each file named on the command line (folders only yield ``*.pipe``)."""
    for path in paths:
        if os.path.isfile(path):
            hint_other_kind("lint", path, [d for d in result.diagnostics if d.span.file == path])


def _colour(mode: str, stream: TextIO) -> bool:
    if mode != "auto":
        return mode == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
