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

What a config builds is bounded too (see ``Budget``): a name used twice is one
object here but two copies in the ``.pipe`` file written from it, so a few lines
that double a list or a string would otherwise build (or write) gigabytes. Every
value is counted each time it is used, and a config past ``MAX_VALUES`` values,
``MAX_TEXT`` characters of strings, ``MAX_DEPTH`` levels of nesting or with a
string longer than ``MAX_STRING`` is refused with a ``ConfigError``. ``Budget`` is
also what ``hookpipe import`` counts a JSON or YAML input with.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hookpipe.fileaccess import MAX_SOURCE_BYTES, Refused, decode_source, display_name, read_bytes

#: Base-file nesting deeper than this is refused (a config tree is a few levels deep).
MAX_BASE_DEPTH = 16
#: Base files read for one config, a file counted each time a ``_base_`` names it. MMEngine's
#: trees name about ten; a file that names another many times over would re-read it exponentially.
MAX_BASE_FILES = 256
#: Bytes of Python read for one config, all its base files together (each time one is read).
MAX_SOURCE_TOTAL = 4 * MAX_SOURCE_BYTES

# The limits on what one input builds (an MMEngine config with its base files, a YAML or a JSON
# file). Real configs hold a few thousand values, a few KiB of text, nest fewer than ten levels;
# these are far above that and far below what would take a machine's memory or minutes of time.
#: Values (numbers, strings, lists, dicts, ...) in one input, each counted every time it is used:
#: a Python name, a YAML alias, expanded as often as it appears, as the ``.pipe`` file writes it.
MAX_VALUES = 100_000
#: Characters in one string (the biggest input file holds 4 Mi; a real setting is a path or a name).
MAX_STRING = 1024 * 1024
#: Characters of all the strings of one input together, counted as ``MAX_VALUES`` counts values:
#: as much text as the biggest input file may hold.
MAX_TEXT = MAX_SOURCE_BYTES
#: Lists and dicts inside each other (deeper is refused here, not a ``RecursionError`` later).
MAX_DEPTH = 64


@dataclass(frozen=True)
class Opaque:
    """A value this reader did not evaluate; ``source`` is its text, for the mark."""

    source: str


class ConfigError(Exception):
    """A config that cannot be read: the message names the file and line."""


class TooBig(Exception):
    """What an input builds passes one of the limits above; the message names the limit."""


class Budget:
    """The values and string characters one input has built so far, against ``MAX_VALUES`` and ``MAX_TEXT``.

    ``count`` walks a value as the ``.pipe`` file would write it: an object reached
    twice (a Python name used twice, a YAML alias) is counted twice. The walk pays
    for every step it takes, so it stops at the limit however big the expansion
    would be, and never takes longer than ``MAX_VALUES`` steps over a whole input.
    """

    def __init__(self) -> None:
        self.values = 0
        self.text = 0

    def spend(self, values: int, text: int = 0) -> None:
        """Count ``values`` more values and ``text`` more characters; ``TooBig`` past a limit."""
        self.values += values
        self.text += text
        if self.values > MAX_VALUES:
            raise TooBig(f"it builds more than {MAX_VALUES:,} values (a name or an alias counts each time it "
                         "is used)")
        if self.text > MAX_TEXT:
            raise TooBig(f"its strings hold more than {MAX_TEXT:,} characters (a name or an alias counts each "
                         "time it is used)")

    def count(self, value: Any) -> None:
        """Spend what ``value`` holds, expanded: every list, dict, string, number (and dict key) in it."""
        stack: list[tuple[Any, int]] = [(value, 0)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, str):
                check_string(item)
                self.spend(1, len(item))
            elif isinstance(item, Opaque):
                self.spend(1, len(item.source))
            elif isinstance(item, (list, tuple, dict)):
                if depth >= MAX_DEPTH:
                    raise TooBig(f"it nests lists and dicts deeper than {MAX_DEPTH} levels")
                self.spend(1)
                if isinstance(item, dict):
                    stack.extend((key, depth + 1) for key in item)
                    stack.extend((val, depth + 1) for val in item.values())
                else:
                    stack.extend((val, depth + 1) for val in item)
            else:
                self.spend(1)


def check_string(text: str) -> None:
    """``TooBig`` for a string longer than ``MAX_STRING``."""
    if len(text) > MAX_STRING:
        raise TooBig(f"it holds a string longer than {MAX_STRING:,} characters")


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_NAMES = {"True": True, "False": False, "None": None}


def read_config(path: Path, root: Path | None) -> dict[str, Any]:
    """The merged settings of the config at ``path`` (its ``_base_`` files first)."""
    return _read(path, root, (), _Reading())


class _Reading(Budget):
    """A ``Budget`` that also counts the base files read and their bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.files = 0
        self.bytes = 0


def _read(path: Path, root: Path | None, chain: tuple[Path, ...], budget: _Reading) -> dict[str, Any]:
    shown = display_name(path)
    real = path.resolve()
    if real in chain:
        raise ConfigError(f"{shown}: `_base_` cycle: " + " -> ".join(display_name(p) for p in (*chain, real)))
    if len(chain) >= MAX_BASE_DEPTH:
        raise ConfigError(f"{shown}: `_base_` files nest deeper than {MAX_BASE_DEPTH}")
    budget.files += 1
    if budget.files > MAX_BASE_FILES:
        raise ConfigError(f"{shown}: the config reads more than {MAX_BASE_FILES} files (a `_base_` file counts "
                          "each time one names it)")
    try:
        data = read_bytes(path, root)
        budget.bytes += len(data)
        if budget.bytes > MAX_SOURCE_TOTAL:
            raise ConfigError(f"{shown}: the config and its `_base_` files hold more than {MAX_SOURCE_TOTAL:,} "
                              "bytes (a file counts each time one names it)")
        text = decode_source(data)
    except Refused as exc:
        raise ConfigError(f"{shown}: the file {exc.reason}; {exc.help}") from exc
    try:
        tree = ast.parse(text, filename=shown)
    except SyntaxError as exc:
        raise ConfigError(f"{shown}:{exc.lineno}: not valid Python: {exc.msg}") from exc
    except (RecursionError, MemoryError) as exc:
        raise ConfigError(f"{shown}: not a config hookpipe reads: it nests too deep for Python's parser") from exc
    values: dict[str, Any] = {}
    base = _base_files(tree, text, shown, budget)
    merged: dict[str, Any] = {}
    for rel in base:
        merged = merge(merged, _read(path.parent / rel, root, (*chain, real), budget))
    scope = dict(merged)
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                value = _eval(node.value, scope, text, budget)
                budget.count(value)
            except TooBig as exc:
                raise ConfigError(f"{shown}:{node.lineno}: not a config hookpipe reads: {exc}") from exc
            for target in node.targets:
                name = target.id  # type: ignore[attr-defined]
                if name == "_base_":
                    continue
                scope[name] = value
                values[name] = value
    return merge(merged, values)


def _base_files(tree: ast.Module, text: str, shown: str, budget: Budget) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
            try:
                value = _eval(node.value, {}, text, budget)
            except TooBig as exc:
                raise ConfigError(f"{shown}:{node.lineno}: not a config hookpipe reads: {exc}") from exc
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


def _eval(node: ast.expr, scope: dict[str, Any], text: str, budget: Budget) -> Any:
    """The value of ``node`` by the rules of the module docstring; ``Opaque`` for anything else.

    ``budget`` pays for what is built on the way (a string ``+``, a ``dict(base)``
    copy); the caller counts the value itself. ``TooBig`` past a limit.
    """
    try:
        return _value(node, scope, text, budget)
    except _NotLiteral:
        return Opaque(ast.get_source_segment(text, node) or "...")


class _NotLiteral(Exception):
    pass


def _value(node: ast.expr, scope: dict[str, Any], text: str, budget: Budget) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _NAMES:
            return _NAMES[node.id]
        if node.id in scope and not isinstance(scope[node.id], Opaque):
            return scope[node.id]
        raise _NotLiteral
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, scope, text, budget) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise _NotLiteral
            out[_value(k, scope, text, budget)] = _eval(v, scope, text, budget)
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        call: dict[str, Any] = {}
        for arg in node.args:
            base = _value(arg, scope, text, budget)
            if not isinstance(base, dict):
                raise _NotLiteral
            budget.spend(len(base))  # the copy: `dict(d, k=v)` used many times copies `d` as often
            call.update(base)
        for kw in node.keywords:
            if kw.arg is None:
                raise _NotLiteral
            call[kw.arg] = _eval(kw.value, scope, text, budget)
        return call
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, scope, text, budget)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
        raise _NotLiteral
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, scope, text, budget), _value(node.right, scope, text, budget)
        if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            # Checked before it is built: `s = s + s` doubles, and each `+` of a long
            # expression copies the string so far.
            if len(left) + len(right) > MAX_STRING:
                raise TooBig(f"it builds a string longer than {MAX_STRING:,} characters")
            budget.spend(1, len(left) + len(right))
            return left + right
        if _arithmetic(left, right):
            try:
                return _BINARY[type(node.op)](left, right)
            except (ArithmeticError, ValueError) as exc:
                raise _NotLiteral from exc
        raise _NotLiteral
    if isinstance(node, ast.Subscript):
        container = _value(node.value, scope, text, budget)
        key = _value(node.slice, scope, text, budget)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise _NotLiteral from exc
    raise _NotLiteral


def _arithmetic(left: Any, right: Any) -> bool:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return number(left) and number(right) and abs(left) < 1e15 and abs(right) < 1e15
