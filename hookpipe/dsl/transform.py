"""lark reductions -> typed AST. The only module that knows lark's rule shapes.

It runs *inside* the LALR parser (lark's inline transformer): each reduction
builds its node at once, so no parse tree is ever allocated and walked again.
The parser keeps every token (``keep_all_tokens``), so each node's span runs
exactly from its first token to its last. Toks are ``lexer.Tok``.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from hookpipe.dsl import ast
from hookpipe.dsl.lexer import Tok
from hookpipe.dsl.span import Span

#: The first name of a run-time value (``run.updates``); see :class:`ast.RunValue`.
RUN_PREFIX = "run"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)")
#: Toks that only shape the syntax; never part of a node's data.
_PUNCTUATION = frozenset({"_NL", "LBRACE", "RBRACE", "LPAR", "RPAR", "LSQB", "RSQB", "COMMA", "EQUAL", "DOT",
                          "_ARROW", "PIPELINE", "USE", "INCLUDE", "TRAINER", "HOOK", "ORDER", "REQUIRE", "AT"})


def unquote(token: Tok) -> str:
    """The value of a double-quoted string token."""
    body = token.value[1:-1]
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body) if "\\" in body else body


def _data(children: Iterable[Any]) -> list[Any]:
    return [c for c in children if not (type(c) is Tok and c.type in _PUNCTUATION)]


class _Spanned:
    """A list result of a helper rule (arguments, effects) with the span it covered."""

    __slots__ = ("items", "span")

    def __init__(self, items: tuple[Any, ...], span: Span) -> None:
        self.items = items
        self.span = span


class ToAst:
    """Builds ``hookpipe.dsl.ast`` nodes; set ``path`` before each parse."""

    def __init__(self) -> None:
        self.path = "<text>"

    def _tok(self, t: Tok) -> Span:
        return Span(self.path, t.line, t.column, t.line, t.end_column)

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
        return Span(self.path, line, column, end_line, end_column)

    # --- top level
    def start(self, c: list[Any]) -> list[Any]:
        return _data(c)

    def header(self, c: list[Any]) -> ast.Header:
        return ast.Header(unquote(c[1]), self._span(c))

    def use(self, c: list[Any]) -> ast.Use:
        return ast.Use(c[1].value, unquote(c[3]), self._span(c), self._tok(c[1]))

    def include(self, c: list[Any]) -> ast.Include:
        return ast.Include(unquote(c[1]), self._span(c))

    def trainer(self, c: list[Any]) -> ast.Trainer:
        return ast.Trainer(tuple(_data(c)), self._span(c))

    def setting(self, c: list[Any]) -> ast.Setting:
        return ast.Setting(c[0].value, c[2], self._span(c))

    def hook(self, c: list[Any]) -> ast.HookDecl:
        effects = c[5].items if len(c) > 5 else None
        return ast.HookDecl(c[1].value, c[3], c[4].items, effects, self._span(c), self._tok(c[1]))

    def effects(self, c: list[Any]) -> _Spanned:
        return _Spanned(tuple(_data(c)), self._span(c))

    def effect(self, c: list[Any]) -> ast.Effect:
        data = _data(c)
        if data[0].type == "NAME":  # a flag (`collective`), checked by the compiler
            return ast.Effect(data[0].value, (), self._span(c))
        return ast.Effect(data[0].value, tuple(t.value for t in data[1:]), self._span(c))

    # --- scopes
    def scope(self, c: list[Any]) -> ast.ScopeBlock:
        return ast.ScopeBlock(c[0].value, tuple(_data(c[1:])), self._span(c), self._tok(c[0]))

    def phase(self, c: list[Any]) -> ast.PhaseBlock:
        return ast.PhaseBlock(c[0].value, tuple(_data(c[1:])), self._span(c))

    def chain(self, c: list[Any]) -> ast.Chain:
        return ast.Chain(tuple(_data(c)), self._span(c))

    def attachment(self, c: list[Any]) -> ast.Attachment:
        fields: dict[str, Any] = {"every": None, "start": None, "start_span": None, "at_end": False,
                                  "on": None, "on_span": None}
        for kind, value, span in c[1:]:
            if kind == "every":
                fields["every"] = value
            elif kind == "start":
                fields["start"], fields["start_span"] = value, span
            elif kind == "at_end":
                fields["at_end"] = True
            else:
                fields["on"], fields["on_span"] = value, span
        return ast.Attachment(c[0].value, span=self._span(c), name_span=self._tok(c[0]), **fields)

    def every(self, c: list[Tok]) -> tuple[str, ast.Every, Span]:
        count = _int(c[1]) if len(c) == 3 else None
        span = self._span(c)
        return "every", ast.Every(count, c[-1].value, span, self._tok(c[-1])), span

    def offset(self, c: list[Tok]) -> tuple[str, int, Span]:
        return "start", _int(c[1]), self._tok(c[1])

    def at_end(self, c: list[Tok]) -> tuple[str, bool, Span]:
        return "at_end", True, self._span(c)

    def on(self, c: list[Tok]) -> tuple[str, str, Span]:
        return "on", c[1].value, self._tok(c[1])

    def order(self, c: list[Tok]) -> ast.OrderStmt:
        return ast.OrderStmt(c[1].value, c[2].value, c[3].value, False, self._span(c), self._tok(c[1]), self._tok(c[3]))

    def require(self, c: list[Tok]) -> ast.OrderStmt:
        return ast.OrderStmt(c[1].value, c[2].value, c[3].value, True, self._span(c), self._tok(c[1]), self._tok(c[3]))

    # --- values
    def integer(self, c: list[Tok]) -> ast.Int:
        return ast.Int(_int(c[0]), self._tok(c[0]))

    def decimal(self, c: list[Tok]) -> ast.Float:
        return ast.Float(float(c[0].value.replace("_", "")), c[0].value, self._tok(c[0]))

    def string(self, c: list[Tok]) -> ast.Str:
        return ast.Str(unquote(c[0]), self._tok(c[0]))

    def true(self, c: list[Tok]) -> ast.Bool:
        return ast.Bool(True, self._tok(c[0]))

    def false(self, c: list[Tok]) -> ast.Bool:
        return ast.Bool(False, self._tok(c[0]))

    def none(self, c: list[Tok]) -> ast.NoneValue:
        return ast.NoneValue(self._tok(c[0]))

    def sequence(self, c: list[Any]) -> ast.ListValue:
        return ast.ListValue(tuple(_data(c)), self._span(c))

    def table(self, c: list[Any]) -> ast.Table:
        return ast.Table(tuple(_data(c)), self._span(c))

    def call(self, c: list[Any]) -> ast.Call:
        return ast.Call(c[0], c[1].items, self._span(c))

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
        return _Spanned(tuple(_data(c)), self._span(c))

    def argument(self, c: list[Any]) -> ast.Argument:
        return ast.Argument(c[0].value, c[2], self._span(c))


def _int(token: Tok) -> int:
    return int(token.value.replace("_", ""))
