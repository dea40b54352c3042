"""The compiler: a list of small passes over one shared ``Compilation``.

Each pass is one public function in its own module; ``PASSES`` lists them in
order so tests can run them one at a time. Passes that need sound input stop the
run when an earlier pass found errors (a graph of unresolved names would only
add noise), but every pass before that point reports all it finds.
"""

from __future__ import annotations

import os
from typing import Callable

from hookpipe.compiler.arguments import validate_arguments
from hookpipe.compiler.class_effects import ClassLookup
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.cycles import check_order
from hookpipe.compiler.frequency import check_frequencies
from hookpipe.compiler.graph import build_graphs
from hookpipe.compiler.loader import DISK, Loaded, Overlay, Parse, SourceFiles, load_file, load_text
from hookpipe.compiler.lower import lower
from hookpipe.compiler.plan import Plan
from hookpipe.compiler.references import check_references
from hookpipe.compiler.resolve import resolve_names
from hookpipe.compiler.scopes import collect_attachments
from hookpipe.diagnostics import Diagnostic, has_errors
from hookpipe.dsl import ast
from hookpipe.dsl.parser import parse_text
from hookpipe.errors import CompileError
from hookpipe.fileaccess import display_name
from hookpipe.perf import gc_paused

Pass = Callable[[Compilation], None]

#: (pass, needs error-free input)
PASSES: tuple[tuple[Pass, bool], ...] = (
    (resolve_names, False),
    (collect_attachments, False),
    (validate_arguments, False),
    (check_references, False),
    (check_frequencies, False),
    (build_graphs, True),
    (check_order, True),
    (lower, True),
)


#: The passes a drawing needs even when earlier errors stopped the others: the
#: picture of a broken pipeline is what explains its error (``hookpipe render``).
DRAWING_PASSES: tuple[Pass, ...] = (build_graphs, check_order)


#: Attachments a pipeline may have (all its files together). Each costs about 3 KB
#: through the passes; a 4 MiB file (under the size limit) of one-line attachments has
#: 210,000 and would need 700 MB and 20 s. Ten times the largest real pipeline we
#: know is still two orders of magnitude below this; the benchmark compiles 50,000.
MAX_ATTACHMENTS = 100_000


def _too_many_attachments(loaded: Loaded) -> Diagnostic | None:
    """An early HP001 naming the limit and the count, before the passes spend memory per attachment."""
    count = 0
    first_over: ast.Attachment | None = None
    for file, _depth in loaded.files:
        stack: list[object] = [item for item in reversed(file.items) if isinstance(item, ast.ScopeBlock)]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.ScopeBlock):
                stack.extend(reversed(node.body))
            elif isinstance(node, (ast.PhaseBlock, ast.Bracket)):
                stack.extend(reversed(node.chains))  # popped in the file's order
            elif isinstance(node, ast.Chain):
                count += len(node.attachments)
                if first_over is None and count > MAX_ATTACHMENTS:
                    first_over = node.attachments[-1]
    if first_over is None:
        return None
    return Diagnostic("HP001", "error", f"the pipeline has {count:,} attachments; the limit is {MAX_ATTACHMENTS:,}",
                      first_over.span, help="split the pipeline, or attach hooks in fewer places "
                      "(one attachment with `every N steps` instead of N copies)")


def run_passes(loaded: Loaded, main: str, for_drawing: bool = False,
               classes: ClassLookup | None = None) -> Compilation:
    """Run every pass that can run; the result holds diagnostics and, if clean, the plan.

    With ``for_drawing``, the ordering graphs are built (and checked for cycles)
    even when errors stopped the passes before them, as long as there are
    attachments to draw; the Plan is still only lowered from a clean compilation.
    ``classes`` reads custom hook classes' own declarations (``--resolve``, ``run``).
    """
    ctx = Compilation(files=loaded.files, sources=loaded.sources, main=main, diagnostics=list(loaded.diagnostics),
                      incomplete=loaded.incomplete, classes=classes)
    if not loaded.files:
        return ctx
    too_many = _too_many_attachments(loaded)
    if too_many is not None:
        ctx.diagnostics.append(too_many)
        return ctx
    with gc_paused():
        for compiler_pass, needs_clean in PASSES:
            if needs_clean and has_errors(ctx.diagnostics):
                break
            compiler_pass(ctx)
        if for_drawing and not ctx.graphs and ctx.nodes:
            for drawing_pass in DRAWING_PASSES:
                drawing_pass(ctx)
    return ctx


def compile_path(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
                 allow_outside_root: bool = False, overlay: Overlay | None = None,
                 parse: Parse = parse_text, for_drawing: bool = False,
                 classes: ClassLookup | None = None, files: SourceFiles = DISK) -> Compilation:
    """Compile a file, returning the whole compilation (diagnostics included) without raising.

    ``overlay`` gives text (by resolved path) to use instead of the disk's: an
    editor's unsaved buffers, for the main file and its includes alike. ``parse``
    replaces the parser, e.g. with ``hookpipe.dsl.incremental.ParseCache().parse``
    to re-parse only the items an edit changed. ``for_drawing`` as in
    :func:`run_passes`: what ``hookpipe render`` draws from. ``files`` reads the
    file and its includes from elsewhere than the disk (``hookpipe diff --git``:
    a git revision).
    """
    with gc_paused():  # one pause for reading and compiling: see hookpipe.perf
        loaded = load_file(path, root=root, allow_outside_root=allow_outside_root, overlay=overlay, parse=parse,
                           files=files)
        # display_name: the name diagnostics print (see hookpipe.fileaccess)
        return run_passes(loaded, display_name(path), for_drawing, classes)


def compile_file(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
                 allow_outside_root: bool = False, classes: ClassLookup | None = None) -> Plan:
    """Compile a ``.pipe`` file into a Plan; raise ``CompileError`` with every diagnostic on errors.

    Example:
        >>> plan = compile_file("examples/digits/train.pipe")  # doctest: +SKIP
        >>> [e.hook for e in plan.phase("step", "after").entries]  # doctest: +SKIP
        ['clip', 'optimize', 'evaluate', 'save', 'speed']
    """
    ctx = compile_path(path, root=root, allow_outside_root=allow_outside_root, classes=classes)
    return _plan_or_raise(ctx)


def compile_text(text: str, filename: str = "<text>") -> Plan:
    """Compile pipeline source given as a string (includes are not available)."""
    with gc_paused():
        return _plan_or_raise(run_passes(load_text(text, filename), filename))


def _plan_or_raise(ctx: Compilation) -> Plan:
    if has_errors(ctx.diagnostics) or ctx.plan is None:
        raise CompileError(ctx.diagnostics, ctx.sources)
    return ctx.plan
