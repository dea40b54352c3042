"""``hookpipe render FILE -o OUT.{svg,png,pdf,dot,mmd} [--renderer EXE] [--profile F | --diff REF]``.

A pipeline with errors is still drawn (the edges of a cycle in red), since the
picture explains the error; its diagnostics are printed and the exit status is 1
so scripts notice. Only a file that cannot be parsed at all draws nothing.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hookpipe.commands.common import add_root_arguments, compile_or_usage, print_diagnostics, say, usage_error
from hookpipe.diagnostics import has_errors
from hookpipe.fileio import OutputError, TargetRefused

if TYPE_CHECKING:
    from hookpipe.compiler.context import Compilation


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("render", help="draw the hook graph (.svg, .png, .pdf, .dot, .mmd)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file; its extension picks the format: .svg .png .pdf .dot .mmd")
    p.add_argument("--renderer", metavar="EXE",
                   help="Graphviz executable to lay out images (default: $HOOKPIPE_DOT, dot, graphviz-pure)")
    p.add_argument("--profile", metavar="FILE.json",
                   help="colour the hooks by the time they took in a run (written by `hookpipe run --profile`)")
    p.add_argument("--diff", metavar="REF",
                   help="colour what changed since the git revision REF: added green, removed dashed red, "
                        "moved orange, frequency changed blue, arguments changed purple; what the picture "
                        "cannot show (trainer settings) is noted (see `hookpipe diff`)")
    add_root_arguments(p)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from hookpipe.render import RenderError, format_of, render_compilation, render_diff

    try:
        format_of(args.output)
    except RenderError as exc:
        return usage_error(str(exc))
    profile = None
    if args.diff is not None and args.profile is not None:
        return usage_error("--diff and --profile colour the hooks differently: use one of them")
    if args.profile is not None:
        from hookpipe.profiling import ProfileError, read_profile

        try:
            profile = read_profile(args.profile)
        except ProfileError as exc:
            return usage_error(str(exc))
    ctx = compile_or_usage(args.file, args.root, args.allow_outside_root, for_drawing=True)
    if isinstance(ctx, int):
        return ctx
    if not ctx.files:
        print_diagnostics([d for d in ctx.diagnostics if d.severity == "error"], ctx.sources)
        say(f"hookpipe: {args.file}: nothing drawn (syntax errors)")
        return 1
    try:
        if args.diff is not None:
            base = _at_revision(args.diff, args.file, args.root)
            if isinstance(base, int):
                return base
            result = render_diff(base, ctx, args.output, args.renderer,
                                 sides=(f"revision {args.diff}", "the working tree"))
        else:
            result = render_compilation(ctx, args.output, args.renderer, profile)
    except TargetRefused as exc:  # -o names a FIFO, a device, a symlink: a usage error
        return usage_error(str(exc))
    except (RenderError, OutputError) as exc:
        say(f"hookpipe: error: {exc}")
        return 1
    errors = [d for d in ctx.diagnostics if d.severity == "error"]
    if errors:
        print_diagnostics(errors, ctx.sources)
    for note in result.notes:
        say(f"hookpipe: note: {note}")
    state = f" with {len(errors)} error{'s' if len(errors) != 1 else ''}" if has_errors(ctx.diagnostics) else ""
    say(f"{args.file}: drawn to {args.output}{state}")
    return 1 if errors else 0


def _at_revision(ref: str, file: str, root: str | None) -> Compilation | None | int:
    """``file`` compiled as it is at the git revision ``ref`` (None: not there); 2 for a bad revision."""
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.fileaccess import project_root
    from hookpipe.revision import Revision, RevisionError

    try:
        revision = Revision(ref)
    except RevisionError as exc:
        return usage_error(str(exc))
    if not revision.has_file(file):
        return None
    return compile_path(file, root=root if root is not None else project_root(file), files=revision)
