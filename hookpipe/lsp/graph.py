"""The hook graph of the current buffer as SVG, for the editor's "Show hook graph"."""

from __future__ import annotations

import os
import tempfile

from hookpipe.compiler.context import Compilation
from hookpipe.render import RenderError, render_compilation


def render_svg(ctx: Compilation) -> str:
    """SVG text of the compilation's graph, drawn as ``hookpipe render`` draws it (errors in red).

    Raises RenderError when nothing can be drawn (a file that does not parse) or
    no renderer is installed.
    """
    if not ctx.files:
        raise RenderError("nothing to draw: the file has syntax errors")
    with tempfile.TemporaryDirectory(prefix="hookpipe-lsp-") as folder:
        out = os.path.join(folder, "graph.svg")
        render_compilation(ctx, out)
        with open(out, encoding="utf-8") as f:
            return f.read()
