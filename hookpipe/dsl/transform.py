"""lark reductions -> typed AST. The only module that knows lark's rule shapes.

It runs *inside* the LALR parser (``hookpipe.dsl.lalr`` calls one method per
rule, with the children lark's tree builder would pass): each reduction builds
its node at once, so no parse tree is ever allocated and walked again.
The parser keeps every token (a plain :data:`~hookpipe.dsl.tokens.Token` tuple),
so each node's span runs exactly from its first token to its last; each reduction
drops the tokens that only shape the syntax (the grammar's anonymous literals,
``Terminals.syntax_only``) and unpacks the rest into named parts, so a rule's shape
is read in one line. The rules every attachment and hook passes through (chain,
attachment, every, hook, call arguments) are written out for their common shapes:
a big file makes hundreds of thousands of these nodes.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from hookpipe.dsl import ast
from hookpipe.dsl.problems import NumberOutOfRange
from hookpipe.dsl.span import Span
from hookpipe.dsl.tokens import Token
from hookpipe.perf import frozen_constructor

#: The first name of a run-time value (``run.updates``); see :class:`ast.RunValue`.
RUN_PREFIX = "run"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)")
#: Builds a Span from a tuple in C: ``Span(...)`` runs a Python-level ``__new__``, and
#: the parser makes one for every node and most tokens.
_new_span = tuple.__new__
#: The nodes built per attachment or hook, built at a plain class's cost (see ``hookpipe.perf``).
_Attachment = frozen_constructor(ast.Attachment)
_Every = frozen_constructor(ast.Every)
_Chain = frozen_constructor(ast.Chain)
_Ref = frozen_constructor(ast.Ref)
_Int = frozen_constructor(ast.Int)
_Argument = frozen_constructor(ast.Argument)
_HookDecl = frozen_constructor(ast.HookDecl)
_Effect = frozen_constructor(ast.Effect)
_ScopeBlock = frozen_constructor(ast.ScopeBlock)
_PhaseBlock = frozen_constructor(ast.PhaseBlock)


def unquote(token: Token) -> str:
    """The value of a double-quoted string token."""
    body = token[1][1:-1]
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body) if "\\" in body else body


class _Spanned:
    """A list result of a helper rule (arguments, effects) with the span it covered."""

    __slots__ = ("items", "span")

    def __init__(self, items: tuple[Any, ...], span: Span) -> None:
        self.items = items
        self.span = span


class _Modifier:
    """What follows an attachment's name: ``from N``, ``and at end``, ``on main`` (``every`` is its node)."""

    __slots__ = ("kind", "value", "span")

    def __init__(self, kind: str, value: Any, span: Span) -> None:
        self.kind = kind
        self.value = value
        self.span = span


class ToAst:
    """Builds ``hookpipe.dsl.ast`` nodes; set ``path`` before each parse.

    ``syntax_only`` is set from the grammar's terminals once the parser is built
    (``hookpipe.dsl.grammar``): lark names the anonymous literals only then.
    """

    def __init__(self, syntax_only: frozenset[str] = frozenset()) -> None:
        self.path = "<text>"
        self.syntax_only = syntax_only

    def _data(self, children: Iterable[Any]) -> list[Any]:
        """The children that carry data: tokens that only shape the syntax dropped."""
        syntax_only = self.syntax_only
        return [c for c in children if not (type(c) is tuple and c[0] in syntax_only)]

    def _tok(self, t: Token) -> Span:
        return _new_span(Span, (self.path, t[2], t[3], t[2], t[4]))

    def _span(self, children: list[Any]) -> Span:
        first, last = children[0], children[-1]
        if type(first) is tuple:
            line, column = first[2], first[3]
        else:
            start = first.span
            line, column = start.line, start.column
        if type(last) is tuple:
            end_line, end_column = last[2], last[4]
        else:
            end = last.span
            end_line, end_column = end.end_line, end.end_column
        return _new_span(Span, (self.path, line, column, end_line, end_column))

    # --- top level
    def start(self, c: list[Any]) -> list[Any]:
        return self._data(c)

    def header(self, c: list[Any]) -> ast.Header:
        (name,) = self._data(c)
        return ast.Header(unquote(name), self._span(c))

    def use(self, c: list[Any]) -> ast.Use:
        alias, module = self._data(c)
        return ast.Use(alias[1], unquote(module), self._span(c), self._tok(alias))

    def include(self, c: list[Any]) -> ast.Include:
        (path,) = self._data(c)
        return ast.Include(unquote(path), self._span(c))

    def trainer(self, c: list[Any]) -> ast.Trainer:
        return ast.Trainer(tuple(self._data(c)), self._span(c))

    def setting(self, c: list[Any]) -> ast.Setting:
        key, value = self._data(c)
        return ast.Setting(key[1], value, self._span(c))

    def hook(self, c: list[Any]) -> ast.HookDecl:
        if len(c) == 5:  # hook NAME = callee arguments
            name, callee, arguments = c[1], c[3], c[4]
            declared = None
            end = arguments.span
        else:
            name, callee, arguments, *effects = self._data(c)
            declared = effects[0].items if effects else None
            end = c[-1].span
        path = self.path
        start = c[0]
        return _HookDecl(name[1], callee, arguments.items, declared,
                         _new_span(Span, (path, start[2], start[3], end.end_line, end.end_column)),
                         _new_span(Span, (path, name[2], name[3], name[2], name[4])))

    def effects(self, c: list[Any]) -> _Spanned:
        return _Spanned(tuple(self._data(c)), self._span(c))

    def effect(self, c: list[Any]) -> ast.Effect:
        kind, *resources = self._data(c)
        return _Effect(kind[1], tuple(t[1] for t in resources), self._span(c))

    # --- scopes
    def scope(self, c: list[Any]) -> ast.ScopeBlock:
        name, *body = self._data(c)
        return _ScopeBlock(name[1], tuple(body), self._span(c), self._tok(name))

    def phase(self, c: list[Any]) -> ast.PhaseBlock:
        when, *chains = self._data(c)
        return _PhaseBlock(when[1], tuple(chains), self._span(c))

    def chain(self, c: list[Any]) -> ast.Chain:
        if len(c) == 1:  # one attachment: the chain covers exactly its span
            first = c[0]
            return _Chain((first,), first.span)
        attachments = tuple(c[::2])  # attachment (_ARROW attachment)*
        start, end = attachments[0].span, attachments[-1].span
        return _Chain(attachments, _new_span(Span, (self.path, start.line, start.column, end.end_line,
                                                     end.end_column)))

    def attachment(self, c: list[Any]) -> ast.Attachment:
        hook = c[0]
        path = self.path
        name_span = _new_span(Span, (path, hook[2], hook[3], hook[2], hook[4]))
        if len(c) == 1:
            return _Attachment(hook[1], None, None, None, False, None, None, name_span, name_span)
        every = start = start_span = on = on_span = None
        at_end = False
        for modifier in c[1:]:
            if type(modifier) is ast.Every:
                every = modifier
                continue
            kind = modifier.kind
            if kind == "start":
                start, start_span = modifier.value, modifier.span
            elif kind == "at_end":
                at_end = True
            else:
                on, on_span = modifier.value, modifier.span
        end = c[-1].span
        span = _new_span(Span, (path, hook[2], hook[3], end.end_line, end.end_column))
        return _Attachment(hook[1], every, start, start_span, at_end, on, on_span, span, name_span)

    def every(self, c: list[Token]) -> ast.Every:
        """The modifier is the node itself (its span is the modifier's)."""
        first, unit = c[0], c[-1]
        path = self.path
        span = _new_span(Span, (path, first[2], first[3], unit[2], unit[4]))
        unit_span = _new_span(Span, (path, unit[2], unit[3], unit[2], unit[4]))
        return _Every(_int(c[1]) if len(c) == 3 else None, unit[1], span, unit_span)

    def offset(self, c: list[Token]) -> _Modifier:
        _from, start = c
        return _Modifier("start", _int(start), self._tok(start))

    def at_end(self, c: list[Token]) -> _Modifier:
        return _Modifier("at_end", True, self._span(c))

    def on(self, c: list[Token]) -> _Modifier:
        _on, where = c
        return _Modifier("on", where[1], self._tok(where))

    def order(self, c: list[Token]) -> ast.OrderStmt:
        return self._order(c, required=False)

    def require(self, c: list[Token]) -> ast.OrderStmt:
        return self._order(c, required=True)

    def _order(self, c: list[Token], required: bool) -> ast.OrderStmt:
        first, relation, second = self._data(c)
        return ast.OrderStmt(first[1], relation[1], second[1], required, self._span(c), self._tok(first),
                             self._tok(second))

    # --- values
    # Values are one token each, or a token and its parts.
    def integer(self, c: list[Token]) -> ast.Int:
        t = c[0]
        return _Int(_int(t), _new_span(Span, (self.path, t[2], t[3], t[2], t[4])))

    def decimal(self, c: list[Token]) -> ast.Float:
        _, text, line, column, end_column = c[0]
        value = float(text.replace("_", ""))
        if math.isinf(value):
            raise NumberOutOfRange(line, column, end_column, text)
        return ast.Float(value, text, self._tok(c[0]))

    def string(self, c: list[Token]) -> ast.Str:
        return ast.Str(unquote(c[0]), self._tok(c[0]))

    def true(self, c: list[Token]) -> ast.Bool:
        return ast.Bool(True, self._tok(c[0]))

    def false(self, c: list[Token]) -> ast.Bool:
        return ast.Bool(False, self._tok(c[0]))

    def none(self, c: list[Token]) -> ast.NoneValue:
        return ast.NoneValue(self._tok(c[0]))

    def sequence(self, c: list[Any]) -> ast.ListValue:
        return ast.ListValue(tuple(self._data(c)), self._span(c))

    def table(self, c: list[Any]) -> ast.Table:
        return ast.Table(tuple(self._data(c)), self._span(c))

    def call(self, c: list[Any]) -> ast.Call:
        callee, arguments = c
        return ast.Call(callee, arguments.items, self._span(c))

    def ref(self, c: list[ast.Ref]) -> ast.Ref | ast.RunValue:
        ref = c[0]
        if len(ref.parts) > 1 and ref.parts[0] == RUN_PREFIX:
            return ast.RunValue(".".join(ref.parts[1:]), ref.span)
        return ref

    def callee(self, c: list[Any]) -> ast.Ref | ast.Str:
        if type(c[0]) is tuple:
            return ast.Str(unquote(c[0]), self._tok(c[0]))
        return c[0]  # type: ignore[no-any-return]

    def dotted(self, c: list[Token]) -> ast.Ref:
        first = c[0]
        if len(c) == 1:
            return _Ref((first[1],), _new_span(Span, (self.path, first[2], first[3], first[2], first[4])))
        last = c[-1]
        return _Ref(tuple(t[1] for t in c[::2]),  # NAME ("." NAME)*
                    _new_span(Span, (self.path, first[2], first[3], last[2], last[4])))

    def arguments(self, c: list[Any]) -> _Spanned:
        if len(c) == 3:  # ( argument )
            return _Spanned((c[1],), self._span(c))
        return _Spanned(tuple(self._data(c)), self._span(c))

    def argument(self, c: list[Any]) -> ast.Argument:
        name, _equal, value = c  # NAME "=" value
        return _Argument(name[1], value, _new_span(Span, (self.path, name[2], name[3], value.span.end_line,
                                                           value.span.end_column)))


#: Integer literals are 64-bit: steps, sizes and seeds fit, and a 100,000-digit literal
#: (Python refuses over 4,300 digits) is a syntax error rather than a crash.
MAX_INT = 2**63 - 1


def _int(token: Token) -> int:
    text = token[1]
    if len(text) < 19 and "_" not in text:  # the common case: 18 digits and a sign fit in 64 bits
        return int(text)
    _, text, line, column, end_column = token
    digits = text.replace("_", "")
    value = int(digits) if len(digits.lstrip("-+")) <= 19 else MAX_INT + 1
    if abs(value) > MAX_INT:
        raise NumberOutOfRange(line, column, end_column, text)
    return value
