"""lark reductions -> typed AST. The only module that knows lark's rule shapes.

It runs *inside* the LALR parser (``hookpipe.dsl.lalr`` calls one method per
rule, with the children lark's tree builder would pass): each reduction builds
its node at once, so no parse tree is ever allocated and walked again.
The parser keeps every token, so each node's span runs
exactly from its first token to its last; each reduction drops the tokens that
only shape the syntax (the grammar's anonymous literals, ``Terminals.syntax_only``)
and unpacks the rest into named parts, so a rule's shape is read in one line.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from hookpipe.dsl import ast
from hookpipe.dsl.problems import NumberOutOfRange
from hookpipe.dsl.span import Span
from hookpipe.dsl.tokens import Tok

#: The first name of a run-time value (``run.updates``); see :class:`ast.RunValue`.
RUN_PREFIX = "run"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)")
#: Builds a Span from a tuple in C: ``Span(...)`` runs a Python-level ``__new__``, and
#: the parser makes one for every node and most tokens.
_new_span = tuple.__new__


def unquote(token: Tok) -> str:
    """The value of a double-quoted string token."""
    body = token.value[1:-1]
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body) if "\\" in body else body


class _Spanned:
    """A list result of a helper rule (arguments, effects) with the span it covered."""

    __slots__ = ("items", "span")

    def __init__(self, items: tuple[Any, ...], span: Span) -> None:
        self.items = items
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
        return [c for c in children if not (type(c) is Tok and c.type in syntax_only)]

    def _tok(self, t: Tok) -> Span:
        return _new_span(Span, (self.path, t.line, t.column, t.line, t.end_column))

    def _span(self, children: list[Any]) -> Span:
        first, last = children[0], children[-1]
        if type(first) is Tok:
            line, column = first.line, first.column
        else:
            start = first[2] if type(first) is tuple else first.span  # a modifier is (kind, value, span)
            line, column = start.line, start.column
        if type(last) is Tok:
            end_line, end_column = last.line, last.end_column
        else:
            end = last[2] if type(last) is tuple else last.span
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
        name, callee, arguments, *effects = self._data(c)
        declared = effects[0].items if effects else None
        return ast.HookDecl(name.value, callee, arguments.items, declared, self._span(c), self._tok(name))

    def effects(self, c: list[Any]) -> _Spanned:
        return _Spanned(tuple(self._data(c)), self._span(c))

    def effect(self, c: list[Any]) -> ast.Effect:
        kind, *resources = self._data(c)
        return ast.Effect(kind.value, tuple(t.value for t in resources), self._span(c))

    # --- scopes
    def scope(self, c: list[Any]) -> ast.ScopeBlock:
        name, *body = self._data(c)
        return ast.ScopeBlock(name.value, tuple(body), self._span(c), self._tok(name))

    def phase(self, c: list[Any]) -> ast.PhaseBlock:
        when, *chains = self._data(c)
        return ast.PhaseBlock(when.value, tuple(chains), self._span(c))

    def chain(self, c: list[Any]) -> ast.Chain:
        return ast.Chain(tuple(self._data(c)), self._span(c))

    def attachment(self, c: list[Any]) -> ast.Attachment:
        fields: dict[str, Any] = {"every": None, "start": None, "start_span": None, "at_end": False,
                                  "on": None, "on_span": None}
        hook, *modifiers = c
        for kind, value, span in modifiers:
            if kind == "every":
                fields["every"] = value
            elif kind == "start":
                fields["start"], fields["start_span"] = value, span
            elif kind == "at_end":
                fields["at_end"] = True
            else:
                fields["on"], fields["on_span"] = value, span
        return ast.Attachment(hook.value, span=self._span(c), name_span=self._tok(hook), **fields)

    def every(self, c: list[Tok]) -> tuple[str, ast.Every, Span]:
        _every, *count, unit = c
        span = self._span(c)
        return "every", ast.Every(_int(count[0]) if count else None, unit.value, span, self._tok(unit)), span

    def offset(self, c: list[Tok]) -> tuple[str, int, Span]:
        _from, start = c
        return "start", _int(start), self._tok(start)

    def at_end(self, c: list[Tok]) -> tuple[str, bool, Span]:
        return "at_end", True, self._span(c)

    def on(self, c: list[Tok]) -> tuple[str, str, Span]:
        _on, where = c
        return "on", where.value, self._tok(where)

    def order(self, c: list[Tok]) -> ast.OrderStmt:
        return self._order(c, required=False)

    def require(self, c: list[Tok]) -> ast.OrderStmt:
        return self._order(c, required=True)

    def _order(self, c: list[Tok], required: bool) -> ast.OrderStmt:
        first, relation, second = self._data(c)
        return ast.OrderStmt(first.value, relation.value, second.value, required, self._span(c), self._tok(first),
                             self._tok(second))

    # --- values
    # Values are one token each, or a token and its parts.
    def integer(self, c: list[Tok]) -> ast.Int:
        return ast.Int(_int(c[0]), self._tok(c[0]))

    def decimal(self, c: list[Tok]) -> ast.Float:
        value = float(c[0].value.replace("_", ""))
        if math.isinf(value):
            raise NumberOutOfRange(c[0].line, c[0].column, c[0].end_column, c[0].value)
        return ast.Float(value, c[0].value, self._tok(c[0]))

    def string(self, c: list[Tok]) -> ast.Str:
        return ast.Str(unquote(c[0]), self._tok(c[0]))

    def true(self, c: list[Tok]) -> ast.Bool:
        return ast.Bool(True, self._tok(c[0]))

    def false(self, c: list[Tok]) -> ast.Bool:
        return ast.Bool(False, self._tok(c[0]))

    def none(self, c: list[Tok]) -> ast.NoneValue:
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
        if type(c[0]) is Tok:
            return ast.Str(unquote(c[0]), self._tok(c[0]))
        return c[0]  # type: ignore[no-any-return]

    def dotted(self, c: list[Tok]) -> ast.Ref:
        if len(c) == 1:
            return ast.Ref((c[0].value,), self._tok(c[0]))
        return ast.Ref(tuple(t.value for t in c if t.type == "NAME"), self._span(c))

    def arguments(self, c: list[Any]) -> _Spanned:
        return _Spanned(tuple(self._data(c)), self._span(c))

    def argument(self, c: list[Any]) -> ast.Argument:
        name, value = self._data(c)
        return ast.Argument(name.value, value, self._span(c))


#: Integer literals are 64-bit: steps, sizes and seeds fit, and a 100,000-digit literal
#: (Python refuses over 4,300 digits) is a syntax error rather than a crash.
MAX_INT = 2**63 - 1


def _int(token: Tok) -> int:
    digits = token.value.replace("_", "")
    value = int(digits) if len(digits.lstrip("-+")) <= 19 else MAX_INT + 1
    if abs(value) > MAX_INT:
        raise NumberOutOfRange(token.line, token.column, token.end_column, token.value)
    return value
