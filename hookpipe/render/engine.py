"""Finding and running a Graphviz renderer: real ``dot`` or the PyPI ``graphviz-pure``.

Why our own subprocess call rather than ``graphviz.render``: that one only knows
``dot`` on PATH, and a plain ``pip install hookpipe`` must draw on a machine with
no Graphviz binary. ``graphviz-pure`` (a dependency, a wheel with dot's flags)
makes that work; the resolver prefers, in order:

1. an explicit renderer (``--renderer`` / ``renderer=``), then ``HOOKPIPE_DOT``;
2. ``dot`` on PATH (real Graphviz: all formats, PDF included);
3. ``graphviz-pure`` on PATH, then in the running interpreter's scripts folder
   (a virtualenv that was not activated is not on PATH).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from hookpipe.errors import HookpipeError
from hookpipe.fileio import atomic_path

ENV_VAR = "HOOKPIPE_DOT"
PURE = "graphviz-pure"
#: The longest side of a PNG, in pixels; larger drawings are scaled down to fit.
MAX_PNG_SIDE = 4000
PNG_DPI = 96
TIMEOUT_S = 300

INSTALL_HINT = (
    "install the `graphviz-pure` package into this environment (`pip install 'graphviz-pure>=0.2.2,<0.3'`, "
    "a hookpipe dependency) or Graphviz's `dot` (`apt-get install graphviz`, `brew install graphviz`), "
    f"or name one with --renderer / {ENV_VAR}; `.dot` and `.mmd` outputs need no renderer"
)


class RenderError(HookpipeError):
    """Drawing failed: no renderer, an unsupported format, or the renderer itself failed."""


@dataclass(frozen=True, slots=True)
class Renderer:
    """A resolved executable and where it came from (for messages and tests)."""

    path: str
    source: str  # "explicit" | "env" | "dot" | "graphviz-pure"

    @property
    def is_pure(self) -> bool:
        return Path(self.path).name.lower().startswith(PURE)


def find_renderer(explicit: str | None = None) -> Renderer:
    """The renderer to run, by the precedence in the module docstring.

    An explicit or ``HOOKPIPE_DOT`` choice that does not exist is an error, not a
    silent fallback: the user asked for that one.

    Example:
        >>> find_renderer().source in ("dot", "graphviz-pure")  # doctest: +SKIP
        True
    """
    for value, source in ((explicit, "explicit"), (os.environ.get(ENV_VAR) or None, "env")):
        if value:
            found = which(value)
            if found is None:
                where = "--renderer" if source == "explicit" else ENV_VAR
                raise RenderError(f"renderer `{value}` (from {where}) was not found or is not executable")
            return Renderer(found, source)
    dot = shutil.which("dot")
    if dot:
        return Renderer(dot, "dot")
    pure = which(PURE)
    if pure:
        return Renderer(pure, PURE)
    raise RenderError(f"no Graphviz renderer found: {INSTALL_HINT}")


def which(value: str) -> str | None:
    """The executable ``value`` names: a path, a program on PATH, or a script of this Python's environment."""
    if os.sep in value or (os.altsep and os.altsep in value):
        return value if os.path.isfile(value) and os.access(value, os.X_OK) else None
    return shutil.which(value) or _in_scripts(value)


def _in_scripts(name: str) -> str | None:
    folder = sysconfig.get_path("scripts")
    candidates = [Path(folder) / name] if folder else []
    candidates.append(Path(sys.executable).parent / name)  # a venv's python: its bin/ holds the scripts
    for candidate in candidates:
        for path in (candidate, candidate.with_suffix(".exe")):
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return None


def run_renderer(renderer: Renderer, dot_source: str, fmt: str, out: str | os.PathLike[str]) -> list[str]:
    """Lay out ``dot_source`` and write ``out`` atomically; returns notes for the user.

    PNGs are capped at ``MAX_PNG_SIDE`` pixels per side (Graphviz scales the
    drawing down to fit), so a huge pipeline does not produce a giant image; the
    note says so when it happened.
    """
    if fmt == "pdf" and renderer.is_pure:
        raise RenderError("PDF output needs Graphviz's `dot` (graphviz-pure draws svg and png only): "
                          "install Graphviz (`apt-get install graphviz`) or render to .svg")
    args = [renderer.path, f"-T{fmt}"]
    if fmt == "png":
        inches = MAX_PNG_SIDE / PNG_DPI
        args += [f"-Gdpi={PNG_DPI}", f"-Gsize={inches:.2f},{inches:.2f}"]
    notes: list[str] = []
    with atomic_path(out) as tmp:
        try:
            done = subprocess.run([*args, f"-o{tmp}"], input=dot_source.encode("utf-8"), capture_output=True,
                                  timeout=TIMEOUT_S, check=False)
        except OSError as exc:
            raise RenderError(f"cannot run renderer `{renderer.path}`: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"renderer `{renderer.path}` took longer than {TIMEOUT_S} s") from exc
        stderr = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0 or tmp.stat().st_size == 0:
            if "not recognized" in stderr and fmt == "pdf":
                raise RenderError(f"renderer `{renderer.path}` cannot write PDF: install Graphviz's `dot`")
            raise RenderError(f"renderer `{renderer.path}` failed (exit {done.returncode}): {stderr[-2000:]}")
        if fmt == "png":
            size = png_size(tmp.read_bytes()[:32])
            if size and max(size) >= MAX_PNG_SIDE - 2:
                notes.append(f"the drawing is larger than {MAX_PNG_SIDE} px, so the PNG was scaled down to "
                             f"{size[0]}x{size[1]} px; render to .svg for full detail")
    return notes


def png_size(header: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, or None when it is not a PNG."""
    if len(header) < 24 or header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        return None
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
