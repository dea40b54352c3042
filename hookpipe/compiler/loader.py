"""Reading a pipeline and everything it includes.

Includes are resolved relative to the including file, read once each (a file
included twice contributes once), and may not form a cycle or leave the project
root: the folder holding pyproject.toml or .git above the main file, unless the
caller allows it. Symlinks are resolved before that check, so a link cannot
smuggle a file in from outside.

An editor has files whose text is not on disk yet: ``overlay`` maps resolved
paths to that text, which is read instead of the file (the language server
passes every open document).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from hookpipe.diagnostics import Diagnostic, Note, Sources
from hookpipe.dsl import ast
from hookpipe.dsl.parser import ParseResult, parse_text

#: Includes nested deeper than this are refused (HP010); real projects use two or three.
MAX_INCLUDE_DEPTH = 64


@dataclass
class Loaded:
    """The files of one pipeline, included files before their includer, with their depth.

    That order is the declaration order (ties in the lowered order follow it) and
    the merge order (a later file's trainer keys win).
    """

    files: list[tuple[ast.File, int]] = field(default_factory=list)
    sources: Sources = field(default_factory=Sources)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: An included file could not be read or parsed: names it declares are missing.
    incomplete: bool = False


def find_root(path: Path) -> Path:
    """The nearest folder above ``path`` holding pyproject.toml or .git, else its folder."""
    start = path.resolve().parent
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            return folder
    return start


def read_source(path: Path) -> str:
    """Text as the parser sees it: UTF-8, a BOM dropped, newlines normalised."""
    data = path.read_bytes()
    text = data.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_text(text: str, display: str) -> Loaded:
    """A pipeline given as text; includes are refused (there is no folder to resolve them in)."""
    loaded = Loaded()
    loaded.sources.texts[display] = text
    result = parse_text(text, display)
    loaded.diagnostics += result.diagnostics
    if result.file is not None:
        loaded.files.append((result.file, 0))
        for item in result.file.items:
            if isinstance(item, ast.Include):
                loaded.diagnostics.append(
                    Diagnostic("HP010", "error", f"cannot include `{item.path}` from text", item.span,
                               help="compile the file from disk (compile_file) to use includes")
                )
    return loaded


#: Resolved path -> text to read instead of the file (an editor's unsaved buffers).
Overlay = Mapping[Path, str]
#: ``parse_text`` or a drop-in for it (``ParseCache.parse``, which re-parses only changed items).
Parse = Callable[[str, str], ParseResult]


def load_file(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
              allow_outside_root: bool = False, overlay: Overlay | None = None,
              parse: Parse = parse_text) -> Loaded:
    """Read ``path`` and its includes. Raises OSError only for the main file itself.

    Args:
        overlay: text for some files, by resolved path, read instead of the disk.
        parse: the parser to use, e.g. a ``ParseCache``'s ``parse`` for an editor.
    """
    main = Path(path)
    loaded = Loaded()
    root_dir = Path(root).resolve() if root is not None else find_root(main)
    _load(main, str(path), 0, [], set(), loaded, root_dir, allow_outside_root, None, overlay or {}, parse)
    return loaded


def _load(path: Path, display: str, depth: int, stack: list[Path], seen: set[Path], loaded: Loaded,
          root: Path, allow_outside: bool, origin: ast.Include | None, overlay: Overlay, parse: Parse) -> None:
    real = path.resolve()
    try:
        text = overlay[real] if real in overlay else read_source(path)
    except (OSError, UnicodeDecodeError) as exc:
        if origin is None:
            raise
        reason = "is not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "was not found"
        loaded.incomplete = True
        loaded.diagnostics.append(Diagnostic(
            "HP010", "error", f"included file `{origin.path}` {reason}", origin.span,
            help=f"the path is relative to the including file's folder (looked for {display})"))
        return
    seen.add(real)
    loaded.sources.texts[display] = text
    result = parse(text, display)
    loaded.diagnostics += result.diagnostics
    if result.file is None:
        loaded.incomplete = True
        return
    for item in result.file.items:
        if isinstance(item, ast.Include):
            target = path.parent / item.path
            target_display = os.path.normpath(os.path.join(os.path.dirname(display), item.path))
            target_real = target.resolve()
            if target_real in (*stack, real):
                chain = " -> ".join(p.name for p in (*stack, real, target_real))
                loaded.diagnostics.append(Diagnostic(
                    "HP010", "error", f"include cycle: {chain}", item.span,
                    help="remove one of the includes; shared parts belong in a third file"))
                continue
            if not allow_outside and not target_real.is_relative_to(root):
                loaded.incomplete = True
                loaded.diagnostics.append(Diagnostic(
                    "HP010", "error", f"include `{item.path}` leaves the project root", item.span,
                    notes=(Note(f"it resolves outside the project root `{root.name}`"),),
                    help="keep included files inside the project (or pass --allow-outside-root for trusted input)"))
                continue
            if target_real in seen:
                continue
            if depth + 1 > MAX_INCLUDE_DEPTH:
                loaded.incomplete = True
                loaded.diagnostics.append(Diagnostic(
                    "HP010", "error", f"includes nest more than {MAX_INCLUDE_DEPTH} files deep", item.span,
                    help="flatten the include chain: include the shared files from one place"))
                continue
            _load(target, target_display, depth + 1, [*stack, real], seen, loaded, root, allow_outside, item,
                  overlay, parse)
    loaded.files.append((result.file, depth))
