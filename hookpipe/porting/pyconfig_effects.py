"""What a statement of an MMEngine Python config could do to the config's names, read from its syntax.

``pyconfig_statements`` evaluates the statements it can do exactly; for any other
one it needs to know, without running it, every name the statement could bind or
change, so that each becomes ``Opaque`` (marked) rather than keeping a value the
run never has. That reading of syntax (``effects_of``, giving ``Effects``) is its
own job, done here: a name is changed by a call that is given it (any call but a
builtin that changes nothing), by a method call on it, by a store into it; a
function's body may change, later, every name it mentions; a ``from x import *``,
``exec`` or ``globals()`` may change any name.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from typing import Any

from hookpipe.porting.pyconfig_values import Budget, NotLiteral, Opaque, Source, known_value

#: Builtins whose call changes neither a name nor an argument (unless the file rebinds the name). Those
#: that may call a function they are given (``sorted``'s ``key``, ``map``) are not among them.
_PURE = frozenset({"dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bool", "len", "print",
                   "isinstance", "repr", "range", "abs", "round", "hasattr", "type", "id", "hash", "divmod",
                   "pow", "format", "any", "all", "zip", "enumerate", "reversed", "chr", "ord"})
#: Builtins whose call can bind or change any name of the module.
_NAMESPACE = frozenset({"globals", "locals", "vars", "exec", "eval"})
#: The methods of a dict or a list that change nothing (every other one may change the object).
_PURE_METHODS = frozenset({"get", "copy", "keys", "values", "items", "index", "count"})
#: The names Python's builtins bind: a name among them that the file did not bind is no object of the config.
BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass
class Effects:
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


def effects_of(node: ast.AST, scope: dict[str, Any], source: Source, budget: Budget) -> Effects:
    """What ``node`` could do to the names of ``scope``, from its syntax (and the values of call receivers).

    A function's or lambda's body runs later, when it is called: the names it
    mentions (less its parameters) are ``code``, which any later call of unknown
    code may bind or change. A class body runs at once, but its assignments bind
    its attributes, not the module's names.
    """
    effects = Effects()
    stack: list[tuple[ast.AST, str]] = [(node, "module")]
    ignored: set[int] = set()  # the names of comprehension targets: local to the comprehension
    while stack:
        item, level = stack.pop()
        own = level == "module"
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            _definition(item, level, effects, stack)
            continue
        if isinstance(item, ast.Name):
            if id(item) in ignored:
                continue
            if isinstance(item.ctx, (ast.Store, ast.Del)):
                if own:
                    effects.binds.add(item.id)
            elif item.id in scope and isinstance(scope[item.id], Opaque) \
                    or item.id not in scope and item.id not in BUILTIN_NAMES:
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
            _call(item, effects, scope, source, budget)
        stack.extend((child, level) for child in ast.iter_child_nodes(item))
    return effects


def _definition(item: ast.AST, level: str, effects: Effects, stack: list[tuple[ast.AST, str]]) -> None:
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


def _call(node: ast.Call, effects: Effects, scope: dict[str, Any], source: Source, budget: Budget) -> None:
    """What a call may change: nothing for a builtin that changes nothing or a pure method of a known value;
    the object of another method of a known value; for any other call, every name in its arguments and the
    object it is called on (unknown code may change what it is given, and call a function of the file)."""
    func = node.func
    if isinstance(func, ast.Name) and func.id not in scope:
        if func.id in _NAMESPACE:
            effects.everything = True
            return
        if func.id in _PURE:
            return
    if isinstance(func, ast.Attribute):
        try:
            receiver = known_value(func.value, scope, source, budget)
        except NotLiteral:  # an object this reader cannot name: whatever holds it may change
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
