"""Drawing a pipeline's hook graph: ``.svg``, ``.png``, ``.pdf``, ``.dot`` and ``.mmd``.

The format comes from the output's extension. ``.dot`` (Graphviz source) and
``.mmd`` (Mermaid) are text and need no binary; the images are laid out by a
Graphviz renderer found by ``engine.find_renderer``. Every output is written
atomically. See docs/render.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.pipeline import compile_path
from hookpipe.compiler.plan import Plan
from hookpipe.fileio import write_atomic
from hookpipe.profiling import Profile
from hookpipe.render.engine import RenderError, find_renderer, run_renderer
from hookpipe.render.model import GraphModel, from_compilation, from_plan

#: Extension -> format; text formats are written without a renderer.
FORMATS: dict[str, str] = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".mmd": "mermaid"}

__all__ = ["FORMATS", "RenderError", "RenderResult", "format_of", "render_compilation", "render_diff", "render_file",
           "render_model", "render_plan"]


@dataclass
class RenderResult:
    """What was drawn: the output, the format, and notes for the user (e.g. a PNG scaled down)."""

    path: Path
    format: str
    notes: list[str] = field(default_factory=list)


def format_of(out: str | os.PathLike[str]) -> str:
    """The output format named by ``out``'s extension; a RenderError lists the known ones."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        raise RenderError(f"cannot tell the format of `{out}`: use one of the extensions {known}")
    return FORMATS[suffix]


def render_model(model: GraphModel, out: str | os.PathLike[str], renderer: str | None = None) -> RenderResult:
    """Write ``model`` to ``out`` in the format its extension names."""
    fmt = format_of(out)
    if fmt == "mermaid":
        from hookpipe.render.mermaid import to_mermaid

        write_atomic(out, to_mermaid(model))
        return RenderResult(Path(out), fmt)
    from hookpipe.render.dot import to_dot

    source = to_dot(model)
    if fmt == "dot":
        write_atomic(out, source)
        return RenderResult(Path(out), fmt)
    return RenderResult(Path(out), fmt, run_renderer(find_renderer(renderer), source, fmt, out))


def render_compilation(ctx: Compilation, out: str | os.PathLike[str], renderer: str | None = None,
                       profile: Profile | None = None) -> RenderResult:
    """Draw a compilation, even one with errors (cycle edges are red).

    With ``profile`` (from ``hookpipe run --profile``) nodes are coloured by the
    time their hook took (see :mod:`hookpipe.render.heat`).
    """
    model = from_compilation(ctx)
    notes = []
    if profile is not None:
        from hookpipe.render.heat import apply_profile

        notes = apply_profile(model, profile)
    result = render_model(model, out, renderer)
    result.notes[:0] = notes
    return result


def render_diff(base: Compilation | None, head: Compilation, out: str | os.PathLike[str],
                renderer: str | None = None, sides: tuple[str, str] = ("BASE", "HEAD")) -> RenderResult:
    """Draw ``head`` with what changed since ``base`` coloured (``hookpipe render --diff``).

    ``base`` is None when the file is new. A side that does not compile cannot
    be compared: HEAD is drawn as :func:`render_compilation` draws it, with a note.
    What the picture cannot show (trainer settings, hooks not attached) is in
    notes, drawn under the legend and returned. ``sides`` names BASE and HEAD in
    them (``render --diff REF``: ``revision REF`` and ``the working tree``).
    """
    from hookpipe.render.diff import diff_model, notes

    model, diff = diff_model(base, head)
    model.notes = notes(diff, model, sides)
    result = render_model(model, out, renderer)
    result.notes[:0] = model.notes
    return result


def render_plan(plan: Plan, out: str | os.PathLike[str], renderer: str | None = None) -> RenderResult:
    """Draw a Plan on its own: each phase's hooks joined in their lowered order.

    A Plan keeps no edge origins (it is plain executable data); to draw them,
    draw the compilation instead (:func:`render_file`).

    Example:
        >>> render_plan(hookpipe.compile_file("examples/digits/train.pipe"), "digits.svg")  # doctest: +SKIP
    """
    return render_model(from_plan(plan), out, renderer)


def render_file(path: str | os.PathLike[str], out: str | os.PathLike[str], renderer: str | None = None) -> RenderResult:
    """Compile ``path`` for drawing and draw it with every edge's origin, as ``hookpipe render`` does.

    Example:
        >>> render_file("examples/digits/train.pipe", "digits.svg")  # doctest: +SKIP
    """
    return render_compilation(compile_path(path, for_drawing=True), out, renderer)
