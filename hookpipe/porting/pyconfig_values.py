"""The values of an MMEngine Python config's expressions, evaluated without running code, and their bounds.

``pyconfig`` reads a config's files and ``pyconfig_statements`` its statements; both
need the same vocabulary: what a value is (or ``Opaque``, when it is not evaluated),
how much one input may build (``Budget``), where a value's text comes from
(``Source``) and the evaluator of one expression (``evaluate``). It lives here, below
both, so that neither imports the other's internals.

An expression is evaluated only where it says what a config needs to say:
literals, lists, tuples, dicts, ``dict(k=v)`` calls, names bound earlier in the file
(or in a base file), subscripts of those, and arithmetic on numbers and strings
(``max_epochs - num_last_epochs``, ``data_root + 'ann/'``). Any other expression (a
call, a lambda, a comprehension) is not run: its value is ``Opaque`` and the
importer marks whatever used it.

What a config builds is bounded too (see ``Budget``): a name used twice is one
object here but two copies in the ``.pipe`` file written from it, so a few lines
that double a list or a string would otherwise build (or write) gigabytes. Every
value is counted each time it is used (a value stored into a dict, an ``update``'s
values too), and a config past ``MAX_VALUES`` values, ``MAX_TEXT`` characters of
strings, ``MAX_DEPTH`` levels of nesting or with a string longer than
``MAX_STRING`` is refused (``TooBig``, which the reader reports as a
``ConfigError``). ``Budget`` is also what ``hookpipe import`` counts a JSON or YAML
input with.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

from hookpipe.fileaccess import MAX_SOURCE_BYTES

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

    def count(self, value: Any, depth: int = 0) -> None:
        """Spend what ``value`` holds, expanded: every list, dict, string, number (and dict key) in it.

        ``depth`` is how deep ``value`` is put (a value stored at ``x['a']['b']`` is 2
        levels down), so that nesting is limited where it ends up.
        """
        stack: list[tuple[Any, int]] = [(value, depth)]
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


#: A statement's first line, as a mark quotes it, is cut at this.
_QUOTED = 60


class Source:
    """A config file's text and its name as shown, its lines split once.

    ``ast.get_source_segment`` splits the whole text into lines on every call: quoting
    each of many statements of a big file that way would take quadratic time.
    """

    def __init__(self, text: str, shown: str) -> None:
        self.shown = shown
        self.lines = re.split(r"\r\n|\r|\n", text)

    def at(self, node: ast.stmt | ast.expr) -> str:
        """``file:line`` of ``node``."""
        return f"{self.shown}:{node.lineno}"

    def segment(self, node: ast.AST) -> str:
        """The text of ``node``, as ``ast.get_source_segment`` gives it ("..." where it has no position)."""
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if first is None or last is None or start is None or end is None:
            return "..."
        if first == last:
            return self.lines[first - 1].encode()[start:end].decode(errors="replace")
        return "\n".join([self.lines[first - 1].encode()[start:].decode(errors="replace"),
                          *self.lines[first:last - 1],
                          self.lines[last - 1].encode()[:end].decode(errors="replace")])

    def quote(self, node: ast.stmt) -> str:
        """``node``'s first line, cut short: how a mark names a statement."""
        line = self.lines[node.lineno - 1].encode()
        end = node.end_col_offset if node.end_lineno == node.lineno and node.end_col_offset is not None else None
        text = line[node.col_offset:end].decode(errors="replace").strip()
        return text if len(text) <= _QUOTED else text[:_QUOTED - 3] + "..."

    def mark(self, node: ast.stmt) -> Opaque:
        """The value of a name that ``node`` binds or changes in a way this reader does not evaluate."""
        return Opaque(f"<not evaluated: {self.at(node)} {self.quote(node)}>")


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_NAMES = {"True": True, "False": False, "None": None}


def evaluate(node: ast.expr, scope: dict[str, Any], source: Source, budget: Budget) -> Any:
    """The value of ``node`` by the rules of the module docstring; ``Opaque`` for anything else.

    ``budget`` pays for what is built on the way (a string ``+``, a ``dict(base)``
    copy); the caller counts the value itself. ``TooBig`` past a limit.
    """
    try:
        return known_value(node, scope, source, budget)
    except NotLiteral:
        return Opaque(source.segment(node) or "...")


class NotLiteral(Exception):
    """Raised by ``known_value`` for an expression whose value this reader does not know."""


def known_value(node: ast.expr, scope: dict[str, Any], source: Source, budget: Budget) -> Any:
    """The value of ``node`` where it is known (as ``evaluate`` gives it); ``NotLiteral`` where it is not.

    An expression inside a list, a dict or a ``dict(...)`` call that is not known is
    ``Opaque`` there; only the whole expression raises.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _NAMES:
            return _NAMES[node.id]
        if node.id in scope and not isinstance(scope[node.id], Opaque):
            return scope[node.id]
        raise NotLiteral
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [evaluate(e, scope, source, budget) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise NotLiteral
            out[known_value(k, scope, source, budget)] = evaluate(v, scope, source, budget)
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" \
            and "dict" not in scope:  # a file that binds `dict` (an import, say) calls something else
        call: dict[str, Any] = {}
        for arg in node.args:
            base = known_value(arg, scope, source, budget)
            if not isinstance(base, dict):
                raise NotLiteral
            budget.spend(len(base))  # the copy: `dict(d, k=v)` used many times copies `d` as often
            call.update(base)
        for kw in node.keywords:
            if kw.arg is None:
                raise NotLiteral
            call[kw.arg] = evaluate(kw.value, scope, source, budget)
        return call
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = known_value(node.operand, scope, source, budget)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
        raise NotLiteral
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = known_value(node.left, scope, source, budget), known_value(node.right, scope, source, budget)
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
                raise NotLiteral from exc
        raise NotLiteral
    if isinstance(node, ast.Subscript):
        container = known_value(node.value, scope, source, budget)
        key = known_value(node.slice, scope, source, budget)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise NotLiteral from exc
    raise NotLiteral


def _arithmetic(left: Any, right: Any) -> bool:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return number(left) and number(right) and abs(left) < 1e15 and abs(right) < 1e15
