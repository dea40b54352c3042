"""Where the Python modules a ``.pipe`` file names (``use x = "pkg.mod"``) are imported from.

One rule for ``hookpipe run``, ``check --resolve``, ``lint --resolve`` and the Python API
(``HookBasedTrainer.from_file``/``from_plan``), so a pipeline that runs from the
command line also runs from a script in another folder:

1. the project folder of the ``.pipe`` file: the nearest folder above it holding
   ``pyproject.toml`` (else ``.git``), else the file's own folder;
2. the working directory.

Both are put at the front of ``sys.path`` (once); modules already imported stay
as they are. See docs/runtime.md, "Where modules come from".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["import_help", "import_roots", "use_import_roots"]

_MARKERS = ("pyproject.toml", ".git")


def import_roots(pipe_file: str | os.PathLike[str] | None) -> list[Path]:
    """The folders, in search order, that ``use`` modules of ``pipe_file`` are imported from."""
    roots: list[Path] = []
    if pipe_file:
        roots.append(_project_folder(Path(pipe_file).resolve().parent))
    cwd = Path.cwd().resolve()
    if cwd not in roots:
        roots.append(cwd)
    return roots


def use_import_roots(pipe_file: str | os.PathLike[str] | None) -> list[Path]:
    """Put :func:`import_roots` at the front of ``sys.path``, keeping their order; return them."""
    roots = import_roots(pipe_file)
    for root in reversed(roots):
        text = str(root)
        if text in sys.path:
            sys.path.remove(text)
        sys.path.insert(0, text)
    return roots


def import_help(pipe_file: str | os.PathLike[str] | None) -> str:
    """The help line of an import failure: where hookpipe looked, and how to change it."""
    roots = import_roots(pipe_file)
    looked = " and ".join(f"`{_short(r)}`" for r in roots)
    marked = bool(pipe_file) and any((roots[0] / m).exists() for m in _MARKERS)
    project = ("the project folder of the .pipe file, marked by pyproject.toml or .git" if marked else
               "the .pipe file's folder: no pyproject.toml or .git above it marks a project")
    return (f"modules are imported from {looked} ({project}, then the working directory) and the installed "
            "packages; check the module path, or install the package")


def _project_folder(start: Path) -> Path:
    for folder in (start, *start.parents):
        if any((folder / m).exists() for m in _MARKERS):
            return folder
    return start


def _short(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") or len(rel) < len(str(path)) else str(path)
