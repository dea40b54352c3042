"""What ``hookpipe run`` checks before it imports torch: the file and the install.

These are the first mistakes of a new user (a typo in the path, a folder, the
Python module instead of the pipeline, the base install without the runtime), so
each gets one paragraph that says what to do, and none costs a torch import.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

__all__ = ["RUNTIME_INSTALL", "file_problem", "runtime_problem"]

#: The runtime's third-party packages, in the order a message names them.
RUNTIME_MODULES: tuple[str, ...] = ("torch", "accelerate", "robo_orchard_core", "safetensors")
#: The command that installs them.
RUNTIME_INSTALL = "pip install 'hookpipe[runtime]'"
#: What ``run`` accepts: a pipeline, or a plan saved by ``Plan.to_json``.
SUFFIXES = (".pipe", ".json")


def file_problem(path: str) -> str | None:
    """Why ``path`` cannot be run, as one paragraph, or None when it is a file ``run`` takes."""
    p = Path(path)
    if p.is_dir():
        found = _pipes_under(p)
        hint = f" (found: {', '.join(found)})" if found else " (it holds no .pipe file)"
        return f"{path}: is a folder; `hookpipe run` trains one pipeline: name its .pipe file{hint}"
    if not p.exists():
        near = difflib.get_close_matches(p.name, _siblings(p), n=1, cutoff=0.6)
        hint = f"; did you mean {p.with_name(near[0])}?" if near else ""
        return f"{path}: no such file{hint}"
    if p.suffix not in SUFFIXES:
        found = _pipes_under(p.parent)
        hint = f"; the pipelines beside it: {', '.join(found)}" if found else ""
        return (f"{path}: not a .pipe file; `hookpipe run` takes a pipeline (.pipe) or a saved plan (.json), "
                f"and the Python code it names is imported from there{hint}")
    if not p.is_file():
        return f"{path}: not a regular file"
    return None


def runtime_problem() -> str | None:
    """The missing runtime packages and the install command, or None when all import."""
    missing: list[str] = []
    for name in RUNTIME_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing.append(exc.name or name)
    if not missing:
        return None
    return (f"`hookpipe run` needs the runtime, which is not installed (missing: {', '.join(missing)}); "
            f"install it with: {RUNTIME_INSTALL} (from a checkout: see README, Quick start); "
            "`check`, `lint`, `explain`, `render` and `fmt` work without it")


def _siblings(p: Path) -> list[str]:
    try:
        return sorted(x.name for x in p.parent.iterdir() if x.suffix in SUFFIXES)
    except OSError:
        return []


def _pipes_under(folder: Path, limit: int = 5) -> list[str]:
    try:
        from hookpipe.lint.discover import walk_pipe_files  # iterative: deep trees do not recurse

        found = sorted(walk_pipe_files(folder))
    except OSError:
        return []
    return found[:limit] + (["..."] if len(found) > limit else [])
