"""MMEngine's Python config files, read without executing them: ``read_config``.

A config is a Python module whose top-level assignments are the settings. This
reader walks its syntax tree (Python's ``ast``) and evaluates only what a config
needs to say; anything else is ``Opaque`` and the importer marks whatever used it.
The work is split by job:

- this module: the public entry (``read_config``), reading a config's files and
  its ``_base_`` files, and merging them as MMEngine does (``merge``);
- ``pyconfig_statements``: one file's statements, each evaluated exactly or made
  ``Opaque`` with the names it could bind or change (``pyconfig_effects`` reads
  those from its syntax);
- ``pyconfig_values``: one expression's value, and the bounds on what an input
  builds (``Budget``, ``TooBig``, the ``MAX_*`` limits), with ``Opaque`` and
  ``ConfigError``, which this module exports too.

``_base_`` (a string or a list of strings, relative to the file) is read first,
through ``hookpipe.fileaccess`` (inside the project root, size-limited), and merged
as MMEngine merges: dicts key by key, recursively, unless the child dict says
``_delete_=True``; any other value replaces. Base cycles are an error; an error in
a base names the line of the ``_base_`` that named it. A package base
(``'mmdet::...'``) is refused: only MMEngine finds it, in the installed package.
Base files are bounded as values are: ``MAX_BASE_DEPTH`` levels, ``MAX_BASE_FILES``
files and ``MAX_SOURCE_TOTAL`` bytes for one config. A file that changed an object
in place is counted once more as a whole at its end (a store into a list that other
names hold grows them all).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path
from typing import Any

from hookpipe.fileaccess import MAX_SOURCE_BYTES, Refused, decode_source, display_name, read_bytes
from hookpipe.porting.pyconfig_statements import BASE, Module
from hookpipe.porting.pyconfig_values import (
    MAX_DEPTH,
    MAX_STRING,
    MAX_TEXT,
    MAX_VALUES,
    Budget,
    ConfigError,
    Opaque,
    Source,
    TooBig,
    check_string,
    evaluate,
)

# What the importers use, from the one module they import (defined in pyconfig_values, below the evaluators).
__all__ = ["MAX_BASE_DEPTH", "MAX_BASE_FILES", "MAX_DEPTH", "MAX_SOURCE_TOTAL", "MAX_STRING", "MAX_TEXT",
           "MAX_VALUES", "Budget", "ConfigError", "Opaque", "TooBig", "check_string", "merge", "read_config"]

#: Base-file nesting deeper than this is refused (a config tree is a few levels deep).
MAX_BASE_DEPTH = 16
#: Base files read for one config, a file counted each time a ``_base_`` names it. MMEngine's
#: trees name about ten; a file that names another many times over would re-read it exponentially.
MAX_BASE_FILES = 256
#: Bytes of Python read for one config, all its base files together (each time one is read).
MAX_SOURCE_TOTAL = 4 * MAX_SOURCE_BYTES


def read_config(path: Path, root: Path | None, notes: list[str] | None = None) -> dict[str, Any]:
    """The merged settings of the config at ``path`` (its ``_base_`` files first).

    ``notes`` (when given) receives what was not read at all, which no value can
    carry: a base config imported in ``with read_base():``, a ``from x import *``,
    an ``exec``. Each note names the file and line; the importer marks them.
    """
    return _read(path, root, (), _Reading(), None, notes if notes is not None else [])


class _Reading(Budget):
    """A ``Budget`` that also counts the base files read and their bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.files = 0
        self.bytes = 0


def _read(path: Path, root: Path | None, chain: tuple[Path, ...], budget: _Reading, named_at: str | None,
          notes: list[str]) -> dict[str, Any]:
    """The settings of one file, its bases merged in; ``named_at`` is ``file:line`` of the ``_base_`` naming it."""
    shown = display_name(path)
    at = f"{named_at}: `_base_` names {shown}" if named_at else shown
    real = path.resolve()
    if real in chain:
        raise ConfigError(f"{named_at or shown}: `_base_` cycle: " +
                          " -> ".join(display_name(p) for p in (*chain, real)))
    if len(chain) >= MAX_BASE_DEPTH:
        raise ConfigError(f"{at}: `_base_` files nest deeper than {MAX_BASE_DEPTH}")
    budget.files += 1
    if budget.files > MAX_BASE_FILES:
        raise ConfigError(f"{at}: the config reads more than {MAX_BASE_FILES} files (a `_base_` file counts "
                          "each time one names it)")
    try:
        data = read_bytes(path, root)
        budget.bytes += len(data)
        if budget.bytes > MAX_SOURCE_TOTAL:
            raise ConfigError(f"{at}: the config and its `_base_` files hold more than {MAX_SOURCE_TOTAL:,} "
                              "bytes (a file counts each time one names it)")
        text = decode_source(data)
    except Refused as exc:
        raise ConfigError(f"{at}: the file {exc.reason}; {exc.help}") from exc
    try:
        tree = ast.parse(text, filename=shown)
    except SyntaxError as exc:
        raise ConfigError(f"{shown}:{exc.lineno}: not valid Python: {exc.msg}") from exc
    except (RecursionError, MemoryError) as exc:
        line = _too_deep_line(text)
        where = f"{shown}:{line}" if line else shown
        raise ConfigError(f"{where}: not a config hookpipe reads: it nests too deep for Python's parser") from exc
    source = Source(text, shown)
    merged: dict[str, Any] = {}
    for rel, line in _base_files(tree, source, budget):
        merged = merge(merged, _read(path.parent / rel, root, (*chain, real), budget, f"{shown}:{line}", notes))
    module = Module(source, merged, budget, notes)
    module.run(tree.body)
    result = merge(merged, module.values)
    if module.changed:
        try:
            Budget().count(result)
        except TooBig as exc:
            raise ConfigError(f"{shown}: not a config hookpipe reads: {exc}, counted at its end with what it changes "
                              "in place (a list or dict that several names hold changes in each)") from exc
    return result


def _base_files(tree: ast.Module, source: Source, budget: Budget) -> list[tuple[str, int]]:
    """The files the first top-level ``_base_ = ...`` names, each with that line."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == BASE for t in node.targets):
            try:
                value = evaluate(node.value, {}, source, budget)
            except TooBig as exc:
                raise ConfigError(f"{source.at(node)}: not a config hookpipe reads: {exc}") from exc
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source.at(node)}: `_base_` must be a file name or a list of file names")
            for name in value:
                if "::" in name:
                    raise ConfigError(
                        f"{source.at(node)}: `_base_` names {name!r}, a package base (`pkg::path`), which only "
                        "MMEngine finds (in the installed package): hookpipe does not read it; copy that file into "
                        "the project and name it by its path, or write its settings in this file")
            return [(name, node.lineno) for name in value]
    return []


def _too_deep_line(text: str) -> int | None:
    """The line of the statement that is too deep for Python's parser, or None when it is not found.

    ``ast.parse`` says nothing of where it gave up. Each long line is parsed alone
    first (the usual case: one line of thousands of ``+ 1``); then each logical line
    of many tokens (one that spans lines), as ``tokenize`` splits them. Only a file
    that failed to parse pays for this.
    """
    lines = Source(text, "").lines
    for number, line in enumerate(lines, 1):
        if len(line) > 1000 and _parse_fails_deep(line.strip()):
            return number
    candidates: list[tuple[int, int, int]] = []
    start, count = 0, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in _NOT_STATEMENT:
                continue
            if not count:
                start = token.start[0]
            count += 1
            if token.type == tokenize.NEWLINE:
                if count > 500:
                    candidates.append((count, start, token.end[0]))
                count = 0
    except (tokenize.TokenError, SyntaxError, RecursionError, MemoryError):
        return None
    for _, first, last in sorted(candidates, reverse=True):
        statement = "\n".join(lines[first - 1:last]).strip()
        if _parse_fails_deep(statement + (" pass" if statement.endswith(":") else "")):
            return first
    return None


#: Tokens that are no part of a statement's text (so a statement starts at its first real token).
_NOT_STATEMENT = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})


def _parse_fails_deep(statement: str) -> bool:
    try:
        ast.parse(statement)
    except (RecursionError, MemoryError):
        return True
    except (SyntaxError, ValueError):
        return False
    return False


def merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """MMEngine's merge: dicts key by key (unless ``_delete_=True``), anything else replaces."""
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not value.get("_delete_", False):
            out[key] = merge(out[key], value)
        elif isinstance(value, dict) and "_delete_" in value:
            out[key] = {k: v for k, v in value.items() if k != "_delete_"}
        else:
            out[key] = value
    return out
