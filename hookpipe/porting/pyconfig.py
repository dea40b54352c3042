"""MMEngine's Python config files, read without executing them.

A config is a Python module whose top-level assignments are the settings. This
reader walks its syntax tree (Python's ``ast``) and evaluates only what a config
needs to say: literals, lists, tuples, dicts, ``dict(k=v)`` calls, names bound
earlier in the file (or in a base file), subscripts of those, and arithmetic
on numbers and strings (``max_epochs - num_last_epochs``, ``data_root + 'ann/'``).
Any other expression (a call, a lambda, a comprehension) is not run: its value is
``Opaque`` and the importer marks whatever used it.

Every top-level statement is accounted for, because the config MMEngine executes is
the one the import must describe: a statement skipped without a word would leave a
setting at a value the run never has (``train_cfg.update(max_epochs=24)`` read as
the 12 epochs assigned before it). A statement is either

- evaluated exactly, where this reader can do what Python would without running
  code: ``name = value`` (also ``a = b = value`` and unpacking a known tuple),
  ``x[k]... = value`` and ``del x[k]`` on a known dict or list,
  ``x.update(other, k=v)`` on a known dict, ``x += v`` on a known number or string,
  ``del name``, an ``if`` whose test is known (its branch is read the same way),
  and statements that bind and change nothing (``print(...)``, ``pass``); or
- not evaluated: then every name it could bind or change becomes ``Opaque``, its
  text naming the statement's file and line (``<not evaluated: a.py:4
  default_hooks.update(...)>``), so each setting that uses it is marked. A name is
  changed by a call that is given it (any call but a builtin that changes nothing),
  by a method call on it, by a store into it; an object it shares with another name
  changes that name too (found by identity, as Python shares them).

Some statements make every name unknown: a ``from x import *`` (MMEngine's
pure-Python configs import their bases so, in ``with read_base():``) and
``exec``/``globals()``. Names bound before it become ``Opaque``, names bound after
it are read as usual, and what only the import defines is missing: ``read_config``
reports that in ``notes``, which the importer marks on the run's length.

``_base_`` (a string or a list of strings, relative to the file) is read first,
through ``hookpipe.fileaccess`` (inside the project root, size-limited), and merged
as MMEngine merges: dicts key by key, recursively, unless the child dict says
``_delete_=True``; any other value replaces. Base cycles are an error; an error in
a base names the line of the ``_base_`` that named it. A package base
(``'mmdet::...'``) is refused: only MMEngine finds it, in the installed package.

What a config builds is bounded too (see ``Budget``): a name used twice is one
object here but two copies in the ``.pipe`` file written from it, so a few lines
that double a list or a string would otherwise build (or write) gigabytes. Every
value is counted each time it is used (a value stored into a dict, an ``update``'s
values too), and a config past ``MAX_VALUES`` values, ``MAX_TEXT`` characters of
strings, ``MAX_DEPTH`` levels of nesting or with a string longer than
``MAX_STRING`` is refused with a ``ConfigError``. A file that changed an object in
place is counted once more as a whole at its end (a store into a list that other
names hold grows them all). ``Budget`` is also what ``hookpipe import`` counts a
JSON or YAML input with.
"""

from __future__ import annotations

import ast
import builtins
import io
import operator
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

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


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_NAMES = {"True": True, "False": False, "None": None}
_BASE = "_base_"
#: Builtins whose call changes neither a name nor an argument (unless the file rebinds the name). Those
#: that may call a function they are given (``sorted``'s ``key``, ``map``) are not among them.
_PURE = frozenset({"dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bool", "len", "print",
                   "isinstance", "repr", "range", "abs", "round", "hasattr", "type", "id", "hash", "divmod",
                   "pow", "format", "any", "all", "zip", "enumerate", "reversed", "chr", "ord"})
#: Builtins whose call can bind or change any name of the module.
_NAMESPACE = frozenset({"globals", "locals", "vars", "exec", "eval"})
#: The methods of a dict or a list that change nothing (every other one may change the object).
_PURE_METHODS = frozenset({"get", "copy", "keys", "values", "items", "index", "count"})
_BUILTIN_NAMES = frozenset(dir(builtins))
#: A statement's first line, as a mark quotes it, is cut at this.
_QUOTED = 60


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
    source = _Source(text, shown)
    merged: dict[str, Any] = {}
    for rel, line in _base_files(tree, source, budget):
        merged = merge(merged, _read(path.parent / rel, root, (*chain, real), budget, f"{shown}:{line}", notes))
    module = _Module(source, merged, budget, notes)
    module.run(tree.body)
    result = merge(merged, module.values)
    if module.changed:
        try:
            Budget().count(result)
        except TooBig as exc:
            raise ConfigError(f"{shown}: not a config hookpipe reads: {exc}, counted at its end with what it changes "
                              "in place (a list or dict that several names hold changes in each)") from exc
    return result


def _base_files(tree: ast.Module, source: _Source, budget: Budget) -> list[tuple[str, int]]:
    """The files the first top-level ``_base_ = ...`` names, each with that line."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == _BASE for t in node.targets):
            try:
                value = _eval(node.value, {}, source, budget)
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
    lines = _Source(text, "").lines
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


class _Source:
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


@dataclass
class _Effects:
    """What a statement (or an expression) could do to the module's names, as its syntax shows."""

    #: names it may bind (assign, import, def, for, with ... as, walrus, except ... as, del)
    binds: set[str] = field(default_factory=set)
    #: names whose object it may change in place (a store into it, a method call on it, a call given it)
    changes: set[str] = field(default_factory=set)
    #: names the functions, lambdas and classes it defines mention: a later call may bind or change them
    code: set[str] = field(default_factory=set)
    #: a ``from x import *``, ``exec``, ``globals()``...: any name may change
    everything: bool = False
    #: it calls something other than a builtin that changes nothing or a method of a known value
    calls: bool = False
    #: it uses a name whose value is not known (a call of a function of the file may hide in it)
    unknown: bool = False


class _Module:
    """One config file read statement by statement (see the module docstring).

    ``scope`` holds every name the file can see (its bases' settings first),
    ``values`` the names the file itself binds: its part of the merged config.
    """

    def __init__(self, source: _Source, merged: dict[str, Any], budget: Budget, notes: list[str]) -> None:
        self.source = source
        self.merged = merged
        self.scope: dict[str, Any] = dict(merged)
        self.values: dict[str, Any] = {}
        self.budget = budget
        self.notes = notes
        #: every name a function, lambda or class of the file mentions (a call of one may change it)
        self.code: set[str] = set()
        #: an object was changed in place: the file's result is counted again, whole, at its end
        self.changed = False

    # --- statements -------------------------------------------------------------------------------------

    def run(self, body: list[ast.stmt]) -> None:
        """Read ``body`` in order; a limit passed, or an expression too deep to evaluate, is a ``ConfigError``."""
        for node in body:
            try:
                self.statement(node)
            except TooBig as exc:
                raise ConfigError(f"{self.source.at(node)}: not a config hookpipe reads: {exc}") from exc
            except (RecursionError, MemoryError) as exc:
                raise ConfigError(f"{self.source.at(node)}: not a config hookpipe reads: it nests expressions "
                                  "too deep to evaluate") from exc

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            self.apply(self.effects(node.value), node)
            value = self.eval(node.value)
            self.budget.count(value, max(_depth(t) for t in node.targets))
            for target in node.targets:
                self.assign(target, value, node)
        elif isinstance(node, ast.AnnAssign):
            self.apply(self.effects(node.annotation), node)
            if node.value is not None:
                self.apply(self.effects(node.value), node)
                value = self.eval(node.value)
                self.budget.count(value, _depth(node.target))
                self.assign(node.target, value, node)
        elif isinstance(node, ast.AugAssign):
            self.augmented(node)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete(target, node)
        elif isinstance(node, ast.Expr) and _is_update(node.value):
            self.update(node.value, node)  # type: ignore[arg-type]
        elif isinstance(node, ast.If) and (truth := self.truth(node.test)) is not None:
            self.run(node.body if truth else node.orelse)
        elif isinstance(node, ast.With) and _is_read_base(node):
            for item in node.body:
                self.base_import(item) if isinstance(item, ast.ImportFrom) else self.apply(self.effects(item), item)
        else:  # anything else: only what it could do to the names is known
            self.apply(self.effects(node), node)

    def assign(self, target: ast.expr, value: Any, node: ast.stmt) -> None:
        """``target = value``, exactly where ``target`` is a name, a store into a known dict or list, or the
        unpacking of a known list or tuple; otherwise what the target names becomes ``Opaque``."""
        if isinstance(target, ast.Name):
            self.bind(target.id, value)
            return
        if isinstance(target, ast.Subscript):
            place = self.place(target)
            if place is not None:
                container, key = place
                if not isinstance(container, Opaque):  # into an object already unknown: it stays unknown
                    self.store(container, key, value, node)
                return
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (list, tuple)) \
                and len(value) == len(target.elts) and not any(isinstance(e, ast.Starred) for e in target.elts):
            for item, part in zip(target.elts, value):
                self.assign(item, part, node)
            return
        self.apply(self.effects(target), node)

    def augmented(self, node: ast.AugAssign) -> None:
        """``x += v`` where ``x`` (a name or a store) holds a number or a string: ``x = x + v``, as Python does
        for a value it cannot change in place. A list's ``+=`` changes the list: not evaluated."""
        self.apply(self.effects(node.value), node)
        if isinstance(node.target, (ast.Name, ast.Subscript)):
            try:
                current = _value(node.target, self.scope, self.source, self.budget)
            except _NotLiteral:
                current = None
            if isinstance(current, (int, float, str)):
                value = self.eval(ast.copy_location(ast.BinOp(node.target, node.op, node.value), node))
                self.budget.count(value, _depth(node.target))
                self.assign(node.target, value, node)
                return
        if isinstance(node.target, ast.Name):  # `x += [...]` changes x's list in place (and who shares it)
            self.forget(node, changes={node.target.id})
        else:
            self.apply(self.effects(node.target), node)

    def delete(self, target: ast.expr, node: ast.stmt) -> None:
        """``del name`` (the file's own name; a base's setting stays, as MMEngine merges), ``del x[k]`` on a
        known dict or list; otherwise what the target names becomes ``Opaque``."""
        if isinstance(target, ast.Name):
            self.scope.pop(target.id, None)
            self.values.pop(target.id, None)
            return
        if isinstance(target, ast.Subscript):
            place = self.place(target)
            if place is not None:
                container, key = place
                if isinstance(container, dict) and key in container or isinstance(container, list):
                    del container[key]
                    self.changed = True
                    return
                if isinstance(container, Opaque):
                    return
        elif isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                self.delete(item, node)
            return
        self.apply(self.effects(target), node)

    def update(self, call: ast.Call, node: ast.stmt) -> None:
        """``x.update(other, k=v, ...)`` on a known dict, as ``dict.update`` (one level: a dict value replaces).

        A dict this reader knows is one the file built (or an old-style ``_base_``'s), a
        plain ``dict`` when MMEngine runs the file, also in a pure-Python config: there
        only the dicts of an imported base are ``ConfigDict``s, whose ``update`` merges a
        nested dict, and those are not read. Not evaluated (``x`` becomes ``Opaque``)
        where ``x`` is not a known dict, or an argument is not a known dict or ``**``.
        """
        for arg in (*call.args, *(kw.value for kw in call.keywords)):
            self.apply(self.effects(arg), node)
        receiver = call.func.value  # type: ignore[attr-defined]
        try:
            container = _value(receiver, self.scope, self.source, self.budget)
        except _NotLiteral:
            container = None
        new = self.update_values(call) if isinstance(container, dict) else None
        if new is None:  # what any other call could do
            self.apply(self.effects(call), node)
            return
        assert isinstance(container, dict)
        self.budget.count(new, _depth(receiver))  # the new values go one level below the dict, as its own do
        for value in new.values():
            self.check_cycle(container, value, node)
        container.update(new)
        self.changed = True

    def update_values(self, call: ast.Call) -> dict[Any, Any] | None:
        """What ``update`` sets, or None when the call is not one this reader evaluates exactly."""
        if len(call.args) > 1 or any(kw.arg is None for kw in call.keywords) \
                or any(isinstance(a, ast.Starred) for a in call.args):
            return None
        new: dict[Any, Any] = {}
        if call.args:
            try:
                other = _value(call.args[0], self.scope, self.source, self.budget)
            except _NotLiteral:
                return None
            if not isinstance(other, dict):
                return None
            new.update(other)
        for kw in call.keywords:
            new[kw.arg] = self.eval(kw.value)
        return new

    def base_import(self, node: ast.ImportFrom) -> None:
        """An import in ``with read_base():``: a base config, not read (only MMEngine's importer finds and runs
        it): what it binds is unknown, and the settings only it defines are missing: said in ``notes``."""
        names = [alias.asname or alias.name for alias in node.names]
        star = "*" in names
        what = ("every name set before it is unknown, and the settings only the base sets are missing"
                if star else f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} unknown")
        self.notes.append(f"{self.source.at(node)}: `{self.source.quote(node)}` (a base config) is not read without "
                          f"executing the config: {what}; import with mmengine installed (without --no-execute), "
                          "or write the base's settings in this file")
        if star:
            self.unknown_all(node, noted=True)
        else:
            self.forget(node, binds=set(names))

    # --- what a statement could do ------------------------------------------------------------------------

    def apply(self, effects: _Effects, node: ast.stmt) -> None:
        """Make each name ``effects`` may bind or change ``Opaque`` (marked with ``node``)."""
        self.code |= effects.code
        if effects.everything:
            self.unknown_all(node)
        changes = set(effects.changes)
        if self.code and (effects.calls or effects.unknown):  # a function of the file may run
            changes |= self.code
        self.forget(node, changes, effects.binds)

    def unknown_all(self, node: ast.stmt, noted: bool = False) -> None:
        """Every name bound so far may have changed (a star import, ``exec``): each becomes ``Opaque``."""
        if not noted:
            self.notes.append(f"{self.source.at(node)}: `{self.source.quote(node)}` may set any name, which only "
                              "executing the config shows: every name set before it is unknown; import with "
                              "mmengine installed (without --no-execute), or set those names after it")
        mark = self.source.mark(node)
        self.budget.spend(len(self.scope))  # each star import visits every name: bounded as values are
        for name in list(self.scope):
            if name != _BASE:
                self.scope[name] = self.values[name] = mark

    def forget(self, node: ast.stmt, changes: Iterable[str] = (), binds: Iterable[str] = ()) -> None:
        """Each name of ``changes`` and ``binds`` becomes ``Opaque``, marked with ``node``.

        A name of ``changes`` may hold an object that changed in place: so does every
        name that holds one of the lists or dicts it holds (Python shares them: after
        ``b = dict(x=a)``, a store into ``a`` changes ``b``); found by identity, each
        object visited once, against the budget.
        """
        mark = self.source.mark(node)
        # A builtin the file did not bind (`print`, given to a call) is no object of the config.
        changes = [name for name in changes if name in self.scope or name not in _BUILTIN_NAMES]
        binds = list(binds)
        self.budget.spend(len(changes) + len(binds))  # a statement may name many; bounded as values are
        changed: set[int] = set()
        for name in changes:
            changed |= self.containers(self.scope.get(name))
        if changed:
            self.budget.spend(len(self.scope) + len(self.merged))
            holds: dict[int, bool] = {}
            for name, value in list(self.scope.items()):
                if self.reaches(value, changed, holds):
                    self.scope[name] = self.values[name] = mark
            for name, value in self.merged.items():  # a base's setting whose name the file deleted
                if name not in self.scope and self.reaches(value, changed, holds):
                    self.values[name] = mark
        for name in changes:  # one unknown already keeps the mark that says why
            if name != _BASE:
                self.scope[name] = self.values[name] = self.scope[name] if isinstance(self.scope.get(name), Opaque) \
                    else mark
        for name in binds:
            if name != _BASE:
                self.scope[name] = self.values[name] = mark

    def containers(self, value: Any) -> set[int]:
        """The identities of the lists, dicts and tuples in ``value`` (each counted once against the budget)."""
        seen: set[int] = set()
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, (dict, list, tuple)) and id(item) not in seen:
                seen.add(id(item))
                self.budget.spend(1)
                stack.extend(item.values() if isinstance(item, dict) else item)
        return seen

    def reaches(self, value: Any, targets: set[int], memo: dict[int, bool]) -> bool:
        """Whether ``value`` holds one of the lists or dicts ``targets`` (each container visited once per scan,
        counted against the budget)."""
        if not isinstance(value, (dict, list, tuple)):
            return False
        stack: list[tuple[Any, bool]] = [(value, False)]
        while stack:
            item, done = stack.pop()
            key = id(item)
            if done:
                children = item.values() if isinstance(item, dict) else item
                memo[key] = key in targets or any(memo.get(id(c), False) for c in children
                                                  if isinstance(c, (dict, list, tuple)))
                continue
            if key in memo:
                continue
            self.budget.spend(1)
            memo[key] = False  # in progress (the values are acyclic: only a repeat of a finished one is read)
            stack.append((item, True))
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, False) for c in children if isinstance(c, (dict, list, tuple)) and id(c) not in memo)
        return memo[id(value)]

    def effects(self, node: ast.AST) -> _Effects:
        """What ``node`` could do to the module's names, from its syntax (and the values of call receivers).

        A function's or lambda's body runs later, when it is called: the names it
        mentions (less its parameters) are ``code``, which any later call of unknown
        code may bind or change. A class body runs at once, but its assignments bind
        its attributes, not the module's names.
        """
        effects = _Effects()
        stack: list[tuple[ast.AST, str]] = [(node, "module")]
        ignored: set[int] = set()  # the names of comprehension targets: local to the comprehension
        while stack:
            item, level = stack.pop()
            own = level == "module"
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                self.definition(item, level, effects, stack)
                continue
            if isinstance(item, ast.Name):
                if id(item) in ignored:
                    continue
                if isinstance(item.ctx, (ast.Store, ast.Del)):
                    if own:
                        effects.binds.add(item.id)
                elif item.id in self.scope and isinstance(self.scope[item.id], Opaque) \
                        or item.id not in self.scope and item.id not in _BUILTIN_NAMES:
                    effects.unknown = True
                continue
            if isinstance(item, (ast.Import, ast.ImportFrom)):
                for alias in item.names:
                    if alias.name == "*":
                        effects.everything = True
                    elif own:
                        effects.binds.add(alias.asname or alias.name.split(".")[0])
                continue
            if isinstance(item, ast.NamedExpr) and own:
                effects.binds.add(item.target.id)
            elif isinstance(item, ast.ExceptHandler) and item.name and own:
                effects.binds.add(item.name)
            elif isinstance(item, (ast.MatchAs, ast.MatchStar)) and item.name and own:
                effects.binds.add(item.name)
            elif isinstance(item, ast.MatchMapping) and item.rest and own:
                effects.binds.add(item.rest)
            elif isinstance(item, ast.comprehension):
                ignored.update(id(n) for n in ast.walk(item.target) if isinstance(n, ast.Name))
            elif isinstance(item, (ast.Subscript, ast.Attribute)) and isinstance(item.ctx, (ast.Store, ast.Del)):
                effects.changes.update(_roots(item.value))
            elif isinstance(item, ast.AugAssign) and isinstance(item.target, ast.Name) and own:
                effects.changes.add(item.target.id)
            elif isinstance(item, ast.Call):
                self.call(item, effects)
            stack.extend((child, level) for child in ast.iter_child_nodes(item))
        return effects

    def definition(self, item: ast.AST, level: str, effects: _Effects, stack: list[tuple[ast.AST, str]]) -> None:
        """A ``def``, ``lambda`` or ``class``: its name is bound; decorators, defaults and bases run now; a
        function's body is code that may run later (``code``; its ``global`` names are bound now, as they may
        be then); a class body runs now, binding class attributes."""
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and level == "module":
            effects.binds.add(item.name)
        if isinstance(item, ast.ClassDef):
            stack.extend((child, level) for child in (*item.decorator_list, *item.bases, *item.keywords))
            stack.extend((child, "class") for child in item.body)
            return
        assert isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        args = item.args
        stack.extend((child, level) for child in (*args.defaults, *(d for d in args.kw_defaults if d is not None)))
        if not isinstance(item, ast.Lambda):
            stack.extend((child, level) for child in item.decorator_list)
        free, declared = _free_names(item)
        if level == "module":
            effects.binds |= declared
        effects.code |= free

    def call(self, node: ast.Call, effects: _Effects) -> None:
        """What a call may change: nothing for a builtin that changes nothing or a pure method of a known value;
        the object of another method of a known value; for any other call, every name in its arguments and the
        object it is called on (unknown code may change what it is given, and call a function of the file)."""
        func = node.func
        if isinstance(func, ast.Name) and func.id not in self.scope:
            if func.id in _NAMESPACE:
                effects.everything = True
                return
            if func.id in _PURE:
                return
        if isinstance(func, ast.Attribute):
            try:
                receiver = _value(func.value, self.scope, self.source, self.budget)
            except _NotLiteral:  # an object this reader cannot name: whatever holds it may change
                effects.changes.update(_roots(func.value))
            else:
                if not isinstance(receiver, Opaque):  # a builtin method of a known value runs no code of the file
                    if isinstance(receiver, (dict, list)) and func.attr not in _PURE_METHODS:
                        effects.changes.update(_roots(func.value))
                    return
                # an unknown object held in a known value: changing it changes nothing this reader knows
        effects.calls = True
        for arg in (*node.args, *(kw.value for kw in node.keywords)):
            effects.changes.update(_passed(arg))

    # --- values ---------------------------------------------------------------------------------------------

    def eval(self, node: ast.expr) -> Any:
        return _eval(node, self.scope, self.source, self.budget)

    def truth(self, test: ast.expr) -> bool | None:
        """The truth of an ``if``'s ``test`` where its value is known (and counted); None where it is not."""
        try:
            value = _value(test, self.scope, self.source, self.budget)
        except _NotLiteral:
            return None
        if isinstance(value, Opaque):
            return None
        self.budget.count(value)
        return bool(value)

    def bind(self, name: str, value: Any) -> None:
        if name != _BASE:
            self.scope[name] = value
            self.values[name] = value

    def place(self, target: ast.Subscript) -> tuple[Any, Any] | None:
        """The object and key ``target`` stores into: a dict with a scalar key, a list with an index in it, or
        an ``Opaque`` object; None when this reader cannot tell."""
        try:
            container = _value(target.value, self.scope, self.source, self.budget)
            key = _value(target.slice, self.scope, self.source, self.budget)
        except _NotLiteral:
            return None
        if isinstance(container, Opaque):
            return container, key
        if isinstance(container, dict) and isinstance(key, (str, int, float, type(None))):
            return container, key
        if isinstance(container, list) and type(key) is int and -len(container) <= key < len(container):
            return container, key
        return None

    def store(self, container: Any, key: Any, value: Any, node: ast.stmt) -> None:
        self.check_cycle(container, value, node)
        container[key] = value
        self.changed = True

    def check_cycle(self, container: Any, value: Any, node: ast.stmt) -> None:
        """A value that holds ``container`` cannot go into it: Python would build a list or dict that holds
        itself, which no ``.pipe`` value can write."""
        if isinstance(value, (dict, list, tuple)) and id(container) in self.containers(value):
            raise ConfigError(f"{self.source.at(node)}: not a config hookpipe reads: it puts a list or dict inside "
                              "itself")


def _is_update(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"


def _is_read_base(node: ast.With) -> bool:
    """``with read_base():``, MMEngine's block of base imports in a pure-Python config."""
    if len(node.items) != 1 or node.items[0].optional_vars is not None:
        return False
    call = node.items[0].context_expr
    return isinstance(call, ast.Call) and (isinstance(call.func, ast.Name) and call.func.id == "read_base" or
                                           isinstance(call.func, ast.Attribute) and call.func.attr == "read_base")


def _roots(node: ast.expr) -> set[str]:
    """The names whose objects a store into (or a method call on) ``node`` may change: the name a chain of
    subscripts and attributes starts from, or every name in an expression that is not such a chain."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    if isinstance(node, ast.Name):
        return {node.id}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _free_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> tuple[set[str], set[str]]:
    """The names a function's body may read, bind or change outside it, and those it declares ``global``.

    Its parameters and the names it assigns (without ``global``) are its own, as
    Python scopes them; a nested function's free names are the outer one's too. A
    class inside it and a comprehension's variables count as used (never wrongly
    left out).
    """
    args = function.args
    own = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
           if a is not None}
    used: set[str] = set()
    declared: set[str] = set()
    stack: list[ast.AST] = [function.body] if isinstance(function, ast.Lambda) else list(function.body)
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inner, inner_declared = _free_names(item)
            used |= inner
            declared |= inner_declared
            if not isinstance(item, ast.Lambda):
                own.add(item.name)
                stack.extend(item.decorator_list)
            stack.extend((*item.args.defaults, *(d for d in item.args.kw_defaults if d is not None)))
            continue
        if isinstance(item, ast.ClassDef):
            own.add(item.name)
            used |= {n.id for n in ast.walk(item) if isinstance(n, ast.Name)}
            continue
        if isinstance(item, ast.Global):
            declared.update(item.names)
        elif isinstance(item, ast.Name):
            (own if isinstance(item.ctx, (ast.Store, ast.Del)) else used).add(item.id)
        elif isinstance(item, (ast.Import, ast.ImportFrom)):
            own.update((a.asname or a.name).split(".")[0] for a in item.names if a.name != "*")
        elif isinstance(item, ast.ExceptHandler) and item.name:
            own.add(item.name)
        stack.extend(ast.iter_child_nodes(item))
    return (used - own) | declared, declared


def _passed(arg: ast.expr) -> set[str]:
    """The names whose objects an argument passes (``f(dict(a=x))`` passes ``x``; ``dict``, called, is not
    passed: what its call may change is that call's own effect)."""
    called = {id(n.func) for n in ast.walk(arg) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(arg) if isinstance(n, ast.Name) and id(n) not in called}


def _depth(target: ast.expr) -> int:
    """How deep a value stored at ``target`` goes: 0 for a name, 2 for ``x['a']['b']``."""
    depth = 0
    while isinstance(target, ast.Subscript):
        depth += 1
        target = target.value
    return depth


def _eval(node: ast.expr, scope: dict[str, Any], source: _Source, budget: Budget) -> Any:
    """The value of ``node`` by the rules of the module docstring; ``Opaque`` for anything else.

    ``budget`` pays for what is built on the way (a string ``+``, a ``dict(base)``
    copy); the caller counts the value itself. ``TooBig`` past a limit.
    """
    try:
        return _value(node, scope, source, budget)
    except _NotLiteral:
        return Opaque(source.segment(node) or "...")


class _NotLiteral(Exception):
    pass


def _value(node: ast.expr, scope: dict[str, Any], source: _Source, budget: Budget) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _NAMES:
            return _NAMES[node.id]
        if node.id in scope and not isinstance(scope[node.id], Opaque):
            return scope[node.id]
        raise _NotLiteral
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, scope, source, budget) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise _NotLiteral
            out[_value(k, scope, source, budget)] = _eval(v, scope, source, budget)
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" \
            and "dict" not in scope:  # a file that binds `dict` (an import, say) calls something else
        call: dict[str, Any] = {}
        for arg in node.args:
            base = _value(arg, scope, source, budget)
            if not isinstance(base, dict):
                raise _NotLiteral
            budget.spend(len(base))  # the copy: `dict(d, k=v)` used many times copies `d` as often
            call.update(base)
        for kw in node.keywords:
            if kw.arg is None:
                raise _NotLiteral
            call[kw.arg] = _eval(kw.value, scope, source, budget)
        return call
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, scope, source, budget)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
        raise _NotLiteral
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, scope, source, budget), _value(node.right, scope, source, budget)
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
        container = _value(node.value, scope, source, budget)
        key = _value(node.slice, scope, source, budget)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise _NotLiteral from exc
    raise _NotLiteral


def _arithmetic(left: Any, right: Any) -> bool:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return number(left) and number(right) and abs(left) < 1e15 and abs(right) < 1e15
