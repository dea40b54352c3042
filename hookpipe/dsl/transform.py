"""lark parse tree -> typed AST. The only module that knows lark's tree shapes."""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from hookpipe.dsl import ast
from hookpipe.dsl.span import Span

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)")


def unquote(text: str) -> str:
    """The value of a double-quoted string token."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


@v_args(meta=True)
class ToAst(Transformer[Token, Any]):
    """Builds ``hookpipe.dsl.ast`` nodes; every node gets the span of its text."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _span(self, meta: Meta) -> Span:
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, token: Token) -> Span:
        return Span(self.path, token.line or 0, token.column or 0, token.end_line or 0, token.end_column or 0)

    # --- top level
    def start(self, meta: Meta, children: list[Any]) -> list[Any]:
        return children

    def header(self, meta: Meta, c: list[Token]) -> ast.Header:
        return ast.Header(unquote(c[0]), self._span(meta))

    def use(self, meta: Meta, c: list[Token]) -> ast.Use:
        return ast.Use(str(c[0]), unquote(c[1]), self._span(meta), self._tok(c[0]))

    def include(self, meta: Meta, c: list[Token]) -> ast.Include:
        return ast.Include(unquote(c[0]), self._span(meta))

    def trainer(self, meta: Meta, c: list[ast.Setting]) -> ast.Trainer:
        return ast.Trainer(tuple(c), self._span(meta))

    def setting(self, meta: Meta, c: list[Any]) -> ast.Setting:
        return ast.Setting(str(c[0]), c[1], self._span(meta))

    def hook(self, meta: Meta, c: list[Any]) -> ast.HookDecl:
        effects = tuple(c[3]) if len(c) > 3 else None
        return ast.HookDecl(str(c[0]), c[1], tuple(c[2]), effects, self._span(meta), self._tok(c[0]))

    def effects(self, meta: Meta, c: list[ast.Effect]) -> list[ast.Effect]:
        return c

    def effect(self, meta: Meta, c: list[Token]) -> ast.Effect:
        return ast.Effect(str(c[0]), tuple(str(t) for t in c[1:]), self._span(meta))

    # --- scopes
    def scope(self, meta: Meta, c: list[Any]) -> ast.ScopeBlock:
        return ast.ScopeBlock(str(c[0]), tuple(c[1:]), self._span(meta), self._tok(c[0]))

    def phase(self, meta: Meta, c: list[Any]) -> ast.PhaseBlock:
        return ast.PhaseBlock(str(c[0]), tuple(c[1:]), self._span(meta))

    def chain(self, meta: Meta, c: list[ast.Attachment]) -> ast.Chain:
        return ast.Chain(tuple(c), self._span(meta))

    def attachment(self, meta: Meta, c: list[Any]) -> ast.Attachment:
        fields: dict[str, Any] = {
            "every": None,
            "start": None,
            "start_span": None,
            "at_end": False,
            "on": None,
            "on_span": None,
        }
        for kind, value, span in c[1:]:
            if kind == "every":
                fields["every"] = value
            elif kind == "start":
                fields["start"], fields["start_span"] = value, span
            elif kind == "at_end":
                fields["at_end"] = True
            else:
                fields["on"], fields["on_span"] = value, span
        return ast.Attachment(str(c[0]), span=self._span(meta), name_span=self._tok(c[0]), **fields)

    def every(self, meta: Meta, c: list[Token]) -> tuple[str, ast.Every, Span]:
        count = _int(c[1]) if len(c) == 3 else None
        span = self._span(meta)
        return "every", ast.Every(count, str(c[-1]), span, self._tok(c[-1])), span

    def offset(self, meta: Meta, c: list[Token]) -> tuple[str, int, Span]:
        return "start", _int(c[1]), self._tok(c[1])

    def at_end(self, meta: Meta, c: list[Token]) -> tuple[str, bool, Span]:
        return "at_end", True, self._span(meta)

    def on(self, meta: Meta, c: list[Token]) -> tuple[str, str, Span]:
        return "on", str(c[1]), self._tok(c[1])

    def order(self, meta: Meta, c: list[Token]) -> ast.OrderStmt:
        return ast.OrderStmt(str(c[0]), str(c[1]), str(c[2]), False, self._span(meta), self._tok(c[0]), self._tok(c[2]))

    def require(self, meta: Meta, c: list[Token]) -> ast.OrderStmt:
        return ast.OrderStmt(str(c[0]), str(c[1]), str(c[2]), True, self._span(meta), self._tok(c[0]), self._tok(c[2]))

    # --- values
    def int(self, meta: Meta, c: list[Token]) -> ast.Int:
        return ast.Int(_int(c[0]), self._span(meta))

    def float(self, meta: Meta, c: list[Token]) -> ast.Float:
        return ast.Float(float(str(c[0]).replace("_", "")), str(c[0]), self._span(meta))

    def string(self, meta: Meta, c: list[Token]) -> ast.Str:
        return ast.Str(unquote(c[0]), self._span(meta))

    def true(self, meta: Meta, c: list[Token]) -> ast.Bool:
        return ast.Bool(True, self._span(meta))

    def false(self, meta: Meta, c: list[Token]) -> ast.Bool:
        return ast.Bool(False, self._span(meta))

    def none(self, meta: Meta, c: list[Token]) -> ast.NoneValue:
        return ast.NoneValue(self._span(meta))

    def list(self, meta: Meta, c: list[Any]) -> ast.ListValue:
        return ast.ListValue(tuple(c), self._span(meta))

    def table(self, meta: Meta, c: list[ast.Argument]) -> ast.Table:
        return ast.Table(tuple(c), self._span(meta))

    def call(self, meta: Meta, c: list[Any]) -> ast.Call:
        return ast.Call(c[0], tuple(c[1]), self._span(meta))

    def ref(self, meta: Meta, c: list[ast.Ref]) -> ast.Ref:
        return c[0]

    def callee(self, meta: Meta, c: list[Any]) -> ast.Ref | ast.Str:
        if isinstance(c[0], Token):
            return ast.Str(unquote(c[0]), self._tok(c[0]))
        return c[0]  # type: ignore[no-any-return]

    def dotted(self, meta: Meta, c: list[Token]) -> ast.Ref:
        return ast.Ref(tuple(str(t) for t in c), self._span(meta))

    def arguments(self, meta: Meta, c: list[ast.Argument]) -> list[ast.Argument]:
        return c

    def argument(self, meta: Meta, c: list[Any]) -> ast.Argument:
        return ast.Argument(str(c[0]), c[1], self._span(meta))


def _int(token: Token) -> int:
    return int(str(token).replace("_", ""))
