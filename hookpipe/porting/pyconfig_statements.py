"""The statements of an MMEngine Python config, evaluated as Python would where that needs no code run.

``pyconfig`` reads a config's files and merges its bases; what one file's own
statements set is this module's job (``Module``). Every top-level statement is
accounted for, because the config MMEngine executes is the one the import must
describe: a statement skipped without a word would leave a setting at a value the
run never has (``train_cfg.update(max_epochs=24)`` read as the 12 epochs assigned
before it). A statement is either

- evaluated exactly, where this reader can do what Python would without running
  code: ``name = value`` (also ``a = b = value`` and unpacking a known tuple),
  ``x[k]... = value`` and ``del x[k]`` on a known dict or list,
  ``x.update(other, k=v)`` on a known dict, ``x += v`` on a known number or string,
  ``del name``, an ``if`` whose test is known (its branch is read the same way),
  and statements that bind and change nothing (``print(...)``, ``pass``); or
- not evaluated: then every name it could bind or change (``pyconfig_effects``)
  becomes ``Opaque``, its text naming the statement's file and line
  (``<not evaluated: a.py:4 default_hooks.update(...)>``), so each setting that uses
  it is marked. An object a changed name shares with another name changes that name
  too (found by identity, as Python shares them).

Some statements make every name unknown: a ``from x import *`` (MMEngine's
pure-Python configs import their bases so, in ``with read_base():``) and
``exec``/``globals()``. Names bound before it become ``Opaque``, names bound after
it are read as usual, and what only the import defines is missing: ``Module``
says so in ``notes``, which the importer marks on the run's length.

Values are evaluated and counted as ``pyconfig_values`` says; a file that changed
an object in place says so (``Module.changed``), and ``pyconfig`` counts its result
once more, whole.
"""

from __future__ import annotations

import ast
from typing import Any, Iterable

from hookpipe.porting.pyconfig_effects import BUILTIN_NAMES, Effects, effects_of
from hookpipe.porting.pyconfig_values import (
    Budget,
    ConfigError,
    NotLiteral,
    Opaque,
    Source,
    TooBig,
    evaluate,
    known_value,
)

#: The name that lists a config's base files: read before the file, never one of its settings.
BASE = "_base_"


class Module:
    """One config file read statement by statement (see the module docstring).

    ``scope`` holds every name the file can see (its bases' settings first),
    ``values`` the names the file itself binds: its part of the merged config.
    """

    def __init__(self, source: Source, merged: dict[str, Any], budget: Budget, notes: list[str]) -> None:
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
        """One statement, evaluated exactly where the module docstring says it can be; otherwise ``apply``."""
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
                current = known_value(node.target, self.scope, self.source, self.budget)
            except NotLiteral:
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
            container = known_value(receiver, self.scope, self.source, self.budget)
        except NotLiteral:
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
                other = known_value(call.args[0], self.scope, self.source, self.budget)
            except NotLiteral:
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

    def apply(self, effects: Effects, node: ast.stmt) -> None:
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
            if name != BASE:
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
        changes = [name for name in changes if name in self.scope or name not in BUILTIN_NAMES]
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
            if name != BASE:
                self.scope[name] = self.values[name] = self.scope[name] if isinstance(self.scope.get(name), Opaque) \
                    else mark
        for name in binds:
            if name != BASE:
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

    def effects(self, node: ast.AST) -> Effects:
        """What ``node`` could do to the names this file can see (``pyconfig_effects.effects_of``)."""
        return effects_of(node, self.scope, self.source, self.budget)

    # --- values ---------------------------------------------------------------------------------------------

    def eval(self, node: ast.expr) -> Any:
        """The value of ``node`` (``Opaque`` where it is not known), not yet counted."""
        return evaluate(node, self.scope, self.source, self.budget)

    def truth(self, test: ast.expr) -> bool | None:
        """The truth of an ``if``'s ``test`` where its value is known (and counted); None where it is not."""
        try:
            value = known_value(test, self.scope, self.source, self.budget)
        except NotLiteral:
            return None
        if isinstance(value, Opaque):
            return None
        self.budget.count(value)
        return bool(value)

    def bind(self, name: str, value: Any) -> None:
        """``name = value``, a setting of this file (``_base_`` is none: it names the base files)."""
        if name != BASE:
            self.scope[name] = value
            self.values[name] = value

    def place(self, target: ast.Subscript) -> tuple[Any, Any] | None:
        """The object and key ``target`` stores into: a dict with a scalar key, a list with an index in it, or
        an ``Opaque`` object; None when this reader cannot tell."""
        try:
            container = known_value(target.value, self.scope, self.source, self.budget)
            key = known_value(target.slice, self.scope, self.source, self.budget)
        except NotLiteral:
            return None
        if isinstance(container, Opaque):
            return container, key
        if isinstance(container, dict) and isinstance(key, (str, int, float, type(None))):
            return container, key
        if isinstance(container, list) and type(key) is int and -len(container) <= key < len(container):
            return container, key
        return None

    def store(self, container: Any, key: Any, value: Any, node: ast.stmt) -> None:
        """``container[key] = value`` on a known dict or list."""
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
    """``x.update(...)``."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"


def _is_read_base(node: ast.With) -> bool:
    """``with read_base():``, MMEngine's block of base imports in a pure-Python config."""
    if len(node.items) != 1 or node.items[0].optional_vars is not None:
        return False
    call = node.items[0].context_expr
    return isinstance(call, ast.Call) and (isinstance(call.func, ast.Name) and call.func.id == "read_base" or
                                           isinstance(call.func, ast.Attribute) and call.func.attr == "read_base")


def _depth(target: ast.expr) -> int:
    """How deep a value stored at ``target`` goes: 0 for a name, 2 for ``x['a']['b']``."""
    depth = 0
    while isinstance(target, ast.Subscript):
        depth += 1
        target = target.value
    return depth
