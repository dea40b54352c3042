"""MMEngine's Python config files, read without executing them.

A config is a Python module whose top-level assignments are the settings. This
reader walks its syntax tree (Python's ``ast``) and evaluates only what a config
needs to say: literals, lists, tuples, dicts, ``dict(k=v)`` calls, names bound
earlier in the file (or in a base file), subscripts of those, and arithmetic
on numbers and strings (``max_epochs - num_last_epochs``, ``data_root + 'ann/'``).
Anything else (imports, other calls, lambdas, ``read_base()`` blocks) is not run:
the assignment's value is ``Opaque`` and the importer marks whatever used it.

``_base_`` (a string or a list of strings, relative to the file) is read first,
through ``hookpipe.fileaccess`` (inside the project root, size-limited), and merged
as MMEngine merges: dicts key by key, recursively, unless the child dict says
``_delete_=True``; any other value replaces. Base cycles are an error.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hookpipe.fileaccess import Refused, decode_source, display_name, read_bytes

#: Base-file nesting deeper than this is refused (a config tree is a few levels deep).
MAX_BASE_DEPTH = 16


@dataclass(frozen=True)
class Opaque:
    """A value this reader did not evaluate; ``source`` is its text, for the mark."""

    source: str


class ConfigError(Exception):
    """A config that cannot be read: the message names the file and line."""


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_NAMES = {"True": True, "False": False, "None": None}


def read_config(path: Path, root: Path | None) -> dict[str, Any]:
    """The merged settings of the config at ``path`` (its ``_base_`` files first)."""
    return _read(path, root, ())


def _read(path: Path, root: Path | None, chain: tuple[Path, ...]) -> dict[str, Any]:
    shown = display_name(path)
    real = path.resolve()
    if real in chain:
        raise ConfigError(f"{shown}: `_base_` cycle: " + " -> ".join(display_name(p) for p in (*chain, real)))
    if len(chain) >= MAX_BASE_DEPTH:
        raise ConfigError(f"{shown}: `_base_` files nest deeper than {MAX_BASE_DEPTH}")
    try:
        text = decode_source(read_bytes(path, root))
    except Refused as exc:
        raise ConfigError(f"{shown}: the file {exc.reason}; {exc.help}") from exc
    try:
        tree = ast.parse(text, filename=shown)
    except SyntaxError as exc:
        raise ConfigError(f"{shown}:{exc.lineno}: not valid Python: {exc.msg}") from exc
    values: dict[str, Any] = {}
    base = _base_files(tree, text, shown)
    merged: dict[str, Any] = {}
    for rel in base:
        merged = merge(merged, _read(path.parent / rel, root, (*chain, real)))
    scope = dict(merged)
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            value = _eval(node.value, scope, text)
            for target in node.targets:
                name = target.id  # type: ignore[attr-defined]
                if name == "_base_":
                    continue
                scope[name] = value
                values[name] = value
    return merge(merged, values)


def _base_files(tree: ast.Module, text: str, shown: str) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
            value = _eval(node.value, {}, text)
            if isinstance(value, str):
                return [value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return list(value)
            raise ConfigError(f"{shown}:{node.lineno}: `_base_` must be a file name or a list of file names")
    return []


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


def _eval(node: ast.expr, scope: dict[str, Any], text: str) -> Any:
    """The value of ``node`` by the rules of the module docstring; ``Opaque`` for anything else."""
    try:
        return _value(node, scope, text)
    except _NotLiteral:
        return Opaque(ast.get_source_segment(text, node) or "...")


class _NotLiteral(Exception):
    pass


def _value(node: ast.expr, scope: dict[str, Any], text: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _NAMES:
            return _NAMES[node.id]
        if node.id in scope and not isinstance(scope[node.id], Opaque):
            return scope[node.id]
        raise _NotLiteral
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, scope, text) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise _NotLiteral
            out[_value(k, scope, text)] = _eval(v, scope, text)
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        call: dict[str, Any] = {}
        for arg in node.args:
            base = _value(arg, scope, text)
            if not isinstance(base, dict):
                raise _NotLiteral
            call.update(base)
        for kw in node.keywords:
            if kw.arg is None:
                raise _NotLiteral
            call[kw.arg] = _eval(kw.value, scope, text)
        return call
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, scope, text)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
        raise _NotLiteral
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, scope, text), _value(node.right, scope, text)
        if _arithmetic(left, right) or (isinstance(node.op, ast.Add) and isinstance(left, str)
                                        and isinstance(right, str)):
            try:
                return _BINARY[type(node.op)](left, right)
            except (ArithmeticError, ValueError) as exc:
                raise _NotLiteral from exc
        raise _NotLiteral
    if isinstance(node, ast.Subscript):
        container = _value(node.value, scope, text)
        key = _value(node.slice, scope, text)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise _NotLiteral from exc
    raise _NotLiteral


def _arithmetic(left: Any, right: Any) -> bool:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return number(left) and number(right) and abs(left) < 1e15 and abs(right) < 1e15
