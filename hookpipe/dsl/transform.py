"""lark reductions -> typed AST. The only module that knows the grammar's rule shapes.

It is lark's transformer, run *inside* the LALR parser (``Lark(transformer=...)``):
each reduction calls the method named after the rule (or its alias) with the
rule's children and builds its node at once, so no parse tree is ever allocated
and walked again. The parser keeps every token (``keep_all_tokens``), so each
node's span runs exactly from its first token to its last; each method drops the
tokens that only shape the syntax (the grammar's anonymous literals,
``Terminals.syntax_only``) and unpacks the rest into named parts, so a rule's shape
is read in one line. The rules every attachment and hook passes through (chain,
attachment, every, hook, call arguments) are written out for their common shapes:
a big file makes hundreds of thousands of these nodes.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from lark import Token, Transformer

from hookpipe.dsl import ast
from hookpipe.dsl.problems import NumberOutOfRange
from hookpipe.dsl.span import Span

#: The first name of a run-time value (``run.updates``); see :class:`ast.RunValue`.
RUN_PREFIX = "run"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)")
#: Builds a Span from a tuple in C: ``Span(...)`` runs a Python-level ``__new__``, and
#: the parser makes one for every node and most tokens.
_new_span = tuple.__new__


def unquote(token: Token) -> str:
    """The value of a double-quoted string token."""
    body = token.value[1:-1]
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body) if "\\" in body else body


class _Spanned:
    """A list result of a helper rule (arguments, effects) with the span it covered."""

    __slots__ = ("items", "span")

    def __init__(self, items: tuple[Any, ...], span: Span) -> None:
        self.items = items
        self.span = span


class _Modifier:
    """What follows an attachment's name: ``from N``, ``until N``, ``and at end``, ``on main``.

    (``every`` is its own node.)
    """

    __slots__ = ("kind", "value", "span")

    def __init__(self, kind: str, value: Any, span: Span) -> None:
        self.kind = kind
        self.value = value
        self.span = span


class ToAst(Transformer[Token, Any]):
    """Builds ``hookpipe.dsl.ast`` nodes; set ``path`` before each parse.

    ``syntax_only`` is set from the grammar's terminals once the parser is built
    (``hookpipe.dsl.grammar``): lark names the anonymous literals only then.
    """

    def __init__(self, syntax_only: frozenset[str] = frozenset()) -> None:
        super().__init__(visit_tokens=False)
        self.path = "<text>"
        self.syntax_only = syntax_only

    def _data(self, children: Iterable[Any]) -> list[Any]:
        """The children that carry data: tokens that only shape the syntax dropped."""
        syntax_only = self.syntax_only
        return [c for c in children if not (type(c) is Token and c.type in syntax_only)]

    def _tok(self, t: Token) -> Span:
        return _new_span(Span, (self.path, t.line, t.column, t.line, t.end_column))

    def _span(self, children: list[Any]) -> Span:
        first, last = children[0], children[-1]
        if type(first) is Token:
            line, column = first.line, first.column
        else:
            start = first.span
            line, column = start.line, start.column
        if type(last) is Token:
            end_line, end_column = last.end_line, last.end_column
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
        return ast.Use(alias.value, unquote(module), self._span(c), self._tok(alias))

    def include(self, c: list[Any]) -> ast.Include:
        (path,) = self._data(c)
        return ast.Include(unquote(path), self._span(c))

    def trainer(self, c: list[Any]) -> ast.Trainer:
        return ast.Trainer(tuple(self._data(c)), self._span(c))

    def setting(self, c: list[Any]) -> ast.Setting:
        key, value = self._data(c)
        return ast.Setting(key.value, value, self._span(c))

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
        return ast.HookDecl(name.value, callee, arguments.items, declared,
                            _new_span(Span, (path, start.line, start.column, end.end_line, end.end_column)),
                            _new_span(Span, (path, name.line, name.column, name.line, name.end_column)))

    def effects(self, c: list[Any]) -> _Spanned:
        return _Spanned(tuple(self._data(c)), self._span(c))

    def effect(self, c: list[Any]) -> ast.Effect:
        kind, *resources = self._data(c)
        return ast.Effect(kind.value, tuple(t.value for t in resources), self._span(c))

    # --- scopes
    def scope(self, c: list[Any]) -> ast.ScopeBlock:
        name, *body = self._data(c)
        if body and isinstance(body[0], Token):  # `validation NAME { ... }`
            target, *body = body
            return ast.ScopeBlock(name.value, tuple(body), self._span(c), self._tok(name), target.value,
                                  self._tok(target))
        return ast.ScopeBlock(name.value, tuple(body), self._span(c), self._tok(name))

    def phase(self, c: list[Any]) -> ast.PhaseBlock:
        when, *chains = self._data(c)
        return ast.PhaseBlock(when.value, tuple(chains), self._span(c))

    def bracket(self, c: list[Any]) -> ast.Bracket:
        _with, name, *items = self._data(c)
        return ast.Bracket(name.value, tuple(items), self._span(c), self._tok(name))

    def chain(self, c: list[Any]) -> ast.Chain:
        if len(c) == 1:  # one attachment: the chain covers exactly its span
            first = c[0]
            return ast.Chain((first,), first.span)
        attachments = tuple(c[::2])  # attachment (_ARROW attachment)*
        start, end = attachments[0].span, attachments[-1].span
        return ast.Chain(attachments, _new_span(Span, (self.path, start.line, start.column, end.end_line,
                                                        end.end_column)))

    def attachment(self, c: list[Any]) -> ast.Attachment:
        hook = c[0]
        path = self.path
        name_span = _new_span(Span, (path, hook.line, hook.column, hook.line, hook.end_column))
        if len(c) == 1:
            return ast.Attachment(hook.value, None, None, None, False, None, None, name_span, name_span)
        every = start = start_span = on = on_span = until = until_span = None
        at_end = False
        for modifier in c[1:]:
            if type(modifier) is ast.Every:
                every = modifier
                continue
            kind = modifier.kind
            if kind == "start":
                start, start_span = modifier.value, modifier.span
            elif kind == "until":
                until, until_span = modifier.value, modifier.span
            elif kind == "at_end":
                at_end = True
            else:
                on, on_span = modifier.value, modifier.span
        end = c[-1].span
        span = _new_span(Span, (path, hook.line, hook.column, end.end_line, end.end_column))
        return ast.Attachment(hook.value, every, start, start_span, at_end, on, on_span, span, name_span, until,
                              until_span)

    def every(self, c: list[Token]) -> ast.Every:
        """The modifier is the node itself (its span is the modifier's)."""
        first, unit = c[0], c[-1]
        path = self.path
        span = _new_span(Span, (path, first.line, first.column, unit.line, unit.end_column))
        unit_span = _new_span(Span, (path, unit.line, unit.column, unit.line, unit.end_column))
        return ast.Every(_int(c[1]) if len(c) == 3 else None, unit.value, span, unit_span)

    def offset(self, c: list[Token]) -> _Modifier:
        _from, start = c
        return _Modifier("start", _int(start), self._tok(start))

    def until(self, c: list[Token]) -> _Modifier:
        _until, last = c
        return _Modifier("until", _int(last), self._tok(last))

    def at_end(self, c: list[Token]) -> _Modifier:
        return _Modifier("at_end", True, self._span(c))

    def on(self, c: list[Token]) -> _Modifier:
        _on, where = c
        return _Modifier("on", where.value, self._tok(where))

    def order(self, c: list[Token]) -> ast.OrderStmt:
        return self._order(c, required=False)

    def require(self, c: list[Token]) -> ast.OrderStmt:
        return self._order(c, required=True)

    def _order(self, c: list[Token], required: bool) -> ast.OrderStmt:
        first, relation, second = self._data(c)
        return ast.OrderStmt(first.value, relation.value, second.value, required, self._span(c), self._tok(first),
                             self._tok(second))

    # --- values
    # Values are one token each, or a token and its parts.
    def integer(self, c: list[Token]) -> ast.Int:
        t = c[0]
        return ast.Int(_int(t), _new_span(Span, (self.path, t.line, t.column, t.line, t.end_column)))

    def decimal(self, c: list[Token]) -> ast.Float:
        t = c[0]
        value = float(t.value.replace("_", ""))
        if math.isinf(value):
            raise NumberOutOfRange(*_position(t), t.value)
        return ast.Float(value, t.value, self._tok(t))

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
        first = c[0]
        if type(first) is Token:
            return ast.Str(unquote(first), self._tok(first))
        return first  # type: ignore[no-any-return]

    def dotted(self, c: list[Token]) -> ast.Ref:
        first = c[0]
        if len(c) == 1:
            return ast.Ref((first.value,), _new_span(Span, (self.path, first.line, first.column, first.line,
                                                            first.end_column)))
        last = c[-1]
        return ast.Ref(tuple(t.value for t in c[::2]),  # NAME ("." NAME)*
                       _new_span(Span, (self.path, first.line, first.column, last.line, last.end_column)))

    def arguments(self, c: list[Any]) -> _Spanned:
        if len(c) == 3:  # ( argument )
            return _Spanned((c[1],), self._span(c))
        return _Spanned(tuple(self._data(c)), self._span(c))

    def argument(self, c: list[Any]) -> ast.Argument:
        name, _equal, value = c  # NAME "=" value
        end = value.span
        return ast.Argument(name.value, value, _new_span(Span, (self.path, name.line, name.column, end.end_line,
                                                                end.end_column)))


#: Integer literals are 64-bit: steps, sizes and seeds fit, and a 100,000-digit literal
#: (Python refuses over 4,300 digits) is a syntax error rather than a crash.
MAX_INT = 2**63 - 1


def _int(token: Token) -> int:
    """An INT token's value (ASCII digits, an optional sign and ``_`` separators: the grammar's pattern)."""
    text = token.value
    if len(text) < 19 and "_" not in text:  # the common case: 18 digits and a sign fit in 64 bits
        return int(text)
    digits = text.replace("_", "")
    value = int(digits) if len(digits.lstrip("-+")) <= 19 else MAX_INT + 1
    if abs(value) > MAX_INT:
        raise NumberOutOfRange(*_position(token), text)
    return value


def _position(token: Token) -> tuple[int, int, int]:
    """(line, column, end column) of a token lark's lexer made (lark types them optional)."""
    return token.line or 1, token.column or 1, token.end_column or 1
