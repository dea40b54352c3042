"""Canonical formatting of ``.pipe`` files: a visitor over the typed AST.

Why a visitor over the AST rather than a token re-spacer: the output is then
known to mean what the input meant (it is printed from the same nodes the
compiler reads), so formatting can never change a Plan's hash. Comments are not
in the AST; the parser hands them over with their spans, and the formatter puts
each back on the line it was on (trailing comments) or before the next item at
the same nesting (own-line comments).

The rules (written down in docs/fmt.md):

* four spaces per nesting level; one item per line; ``a -> b`` chains on one line;
* ``=`` aligned within a run of consecutive ``use`` lines, ``hook`` lines or
  trainer settings; a blank line, a comment line, or (in ``trainer``) a switch
  between plain values and factory calls starts a new run;
* in a phase block, the modifiers of consecutive single attachments are aligned;
* a phase or effects block with one item and no comment sits on one line
  (``before { evaluate }``); other blocks open on their own line;
* blank lines between items are kept (at most one); none after ``{`` or before ``}``;
* values are printed canonically (``f(a = 1, b = [2, 3])``), floats and integers
  as written (``1e-3`` stays ``1e-3``, ``10_000`` stays ``10_000``);
* a trailing comment stays at its column, or two spaces after the code when the
  code now reaches past it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl import ast
from hookpipe.dsl.parser import parse_text
from hookpipe.dsl.span import Span
from hookpipe.dsl.visitor import NodeVisitor

INDENT = "    "
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


@dataclass
class FormatResult:
    """``text`` is None when the input has syntax errors (then ``diagnostics`` says why)."""

    text: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def format_text(text: str, path: str = "<text>") -> FormatResult:
    """Format one file's text; a file with syntax errors is returned unformatted (``text=None``).

    Example:
        >>> format_text('hook  a=optimizer( )\\n').text
        'hook a = optimizer()\\n'
    """
    parsed = parse_text(text, path)
    if parsed.file is None:
        return FormatResult(None, parsed.diagnostics)
    return FormatResult(Formatter(text).format(parsed.file))


def quote(value: str) -> str:
    """A string literal whose value is ``value`` (the inverse of the parser's ``unquote``)."""
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'


@dataclass
class _Line:
    text: str
    depth: int
    src: int  # the source line it stands for: where its trailing comment goes
    comment: bool = False


class ValuePrinter(NodeVisitor):
    """Values as canonical one-line text; numbers keep the spelling they were written with."""

    def __init__(self, source_lines: Sequence[str]) -> None:
        self._source = source_lines

    def visit_Int(self, node: ast.Int) -> str:
        s = node.span
        if s.line == s.end_line and 0 < s.line <= len(self._source):
            text = self._source[s.line - 1][s.column - 1:s.end_column - 1]
            if text.lstrip("-").replace("_", "").isdigit() and int(text.replace("_", "")) == node.value:
                return text
        return str(node.value)

    def visit_Float(self, node: ast.Float) -> str:
        return node.text

    def visit_Str(self, node: ast.Str) -> str:
        return quote(node.value)

    def visit_Bool(self, node: ast.Bool) -> str:
        return "true" if node.value else "false"

    def visit_NoneValue(self, node: ast.NoneValue) -> str:
        return "none"

    def visit_Ref(self, node: ast.Ref) -> str:
        return node.dotted

    def visit_RunValue(self, node: ast.RunValue) -> str:
        return node.dotted

    def visit_ListValue(self, node: ast.ListValue) -> str:
        return "[" + ", ".join(self.visit(v) for v in node.items) + "]"

    def visit_Table(self, node: ast.Table) -> str:
        if not node.items:
            return "{}"
        return "{ " + ", ".join(self.visit(a) for a in node.items) + " }"

    def visit_Call(self, node: ast.Call) -> str:
        return str(self.visit(node.callee)) + "(" + ", ".join(self.visit(a) for a in node.args) + ")"

    def visit_Argument(self, node: ast.Argument) -> str:
        return f"{node.name} = {self.visit(node.value)}"

    def visit_Attachment(self, node: ast.Attachment, width: int = 0) -> str:
        parts = []
        if node.every is not None:
            count = "" if node.every.count is None else f" {node.every.count}"
            parts.append(f"every{count} {node.every.unit}")
        if node.start is not None:
            parts.append(f"from {node.start}")
        if node.until is not None:
            parts.append(f"until {node.until}")
        if node.at_end:
            parts.append("and at end")
        if node.on is not None:
            parts.append(f"on {node.on}")
        if not parts:
            return node.hook
        return " ".join([node.hook.ljust(width), *parts])

    def visit_Chain(self, node: ast.Chain, width: int = 0) -> str:
        if len(node.attachments) == 1:
            return str(self.visit(node.attachments[0], width))
        return " -> ".join(self.visit(a) for a in node.attachments)

    def visit_Effect(self, node: ast.Effect) -> str:
        return f"{node.kind} {', '.join(node.resources)}" if node.resources else node.kind


Aligned = Union[ast.Use, ast.HookDecl, ast.Setting, ast.Chain]


class Formatter(NodeVisitor):
    """Prints a ``File`` item by item; ``visit_<Item>(node, width)`` emits lines."""

    def __init__(self, source: str) -> None:
        self._src = source.split("\n")
        self.values = ValuePrinter(self._src)

    # --- driver -----------------------------------------------------------------------

    def format(self, file: ast.File) -> str:
        self._lines: list[_Line] = []
        self._depth = 0
        self._last = 0  # last source line accounted for
        self._fresh = True  # nothing emitted since an opening brace (no blank line there)
        self._comments = list(file.comments)
        own: list[ast.Comment] = []
        self._trailing: list[ast.Comment] = []
        for c in file.comments:  # on a line of its own, or after code (one pass: a file may hold 100,000)
            (self._trailing if self._src[c.span.line - 1][:c.span.column - 1].strip() else own).append(c)
        self._pending = deque(own)
        self._items(file.items)
        while self._pending:
            self._comment(self._pending.popleft())
        self._attach_trailing()
        return "".join((INDENT * ln.depth + ln.text if ln.text else "") + "\n" for ln in self._lines)

    def _items(self, items: Sequence[ast.Item]) -> None:
        widths = self._widths(list(items), lambda it: type(it).__name__, _item_key)
        for item, width in zip(items, widths):
            self._before(item.span.line)
            self.visit(item, width)
            self._done(item.span)

    # --- emission helpers ---------------------------------------------------------------

    def _emit(self, text: str, src: int, opens: bool = False, comment: bool = False) -> None:
        self._lines.append(_Line(text, self._depth, src, comment))
        self._last = max(self._last, src)
        self._fresh = opens

    def _done(self, span: Span) -> None:
        self._last = max(self._last, span.end_line)

    def _blank_before(self, line: int) -> None:
        if self._fresh or not self._lines:
            return
        between = self._src[self._last:line - 1]
        if any(not text.strip() for text in between):
            self._lines.append(_Line("", 0, self._last, comment=True))

    def _comment(self, comment: ast.Comment) -> None:
        self._blank_before(comment.span.line)
        self._emit(comment.text.rstrip(), comment.span.line, comment=True)

    def _before(self, line: int) -> None:
        """Own-line comments that precede ``line``, then a kept blank line."""
        while self._pending and self._pending[0].span.line < line:
            self._comment(self._pending.popleft())
        self._blank_before(line)

    def _open(self, text: str, src: int) -> None:
        self._emit(text, src, opens=True)
        self._depth += 1

    def _close(self, span: Span) -> None:
        while self._pending and (self._pending[0].span.line, self._pending[0].span.column) < (
                span.end_line, span.end_column):
            self._comment(self._pending.popleft())
        self._depth -= 1
        self._emit("}", span.end_line)

    def _inside(self, span: Span) -> bool:
        """Whether a comment sits inside ``span`` (then the block cannot be put on one line)."""
        start, end = (span.line, span.column), (span.end_line, span.end_column)
        return any(start < (c.span.line, c.span.column) < end for c in self._comments)

    def _separated(self, a: Span, b: Span) -> bool:
        """A blank line or an own-line comment between two items breaks an alignment run."""
        between = self._src[a.end_line:b.line - 1]
        return any(not t.strip() or t.lstrip().startswith("#") for t in between)

    def _widths(
        self, nodes: Sequence[Any], kind: Callable[[Any], object], key: Callable[[Any], str | None]
    ) -> list[int]:
        """Per node, the width its name is padded to: the longest name in its run."""
        runs: list[list[int]] = []
        for i, node in enumerate(nodes):
            k = kind(node)
            if (i and k is not None and k == kind(nodes[i - 1])
                    and not self._separated(nodes[i - 1].span, node.span)):
                runs[-1].append(i)
            else:
                runs.append([i])
        widths = [0] * len(nodes)
        for run in runs:
            width = max((len(name) for i in run if (name := key(nodes[i])) is not None), default=0)
            for i in run:
                widths[i] = width
        return widths

    def _attach_trailing(self) -> None:
        """Each trailing comment goes on the last code line printed from its source line or before.

        One sweep over the code lines by source line, the comments taken in line order: a
        file can hold hundreds of thousands of lines, each with a comment (an imported
        config's marks), and asking every line for every comment took minutes.
        """
        printed = sorted((line.src, index) for index, line in enumerate(self._lines) if not line.comment)
        targets: list[int | None] = [None] * len(self._trailing)
        last: int | None = None
        seen = 0
        for k in sorted(range(len(self._trailing)), key=lambda k: self._trailing[k].span.line):
            while seen < len(printed) and printed[seen][0] <= self._trailing[k].span.line:
                last = printed[seen][1] if last is None else max(last, printed[seen][1])
                seen += 1
            targets[k] = last
        front: list[ast.Comment] = []
        for comment, target in zip(self._trailing, targets):
            if target is None:
                front.append(comment)
                continue
            line = self._lines[target]
            code = INDENT * line.depth + line.text
            column = comment.span.column - 1
            pad = column - len(code) if column >= len(code) + 2 else 2
            line.text += " " * pad + comment.text.rstrip()
        # before every code line: at the top, each before the ones met earlier
        self._lines[:0] = [_Line(comment.text, 0, comment.span.line, comment=True) for comment in reversed(front)]

    # --- items ----------------------------------------------------------------------------

    def visit_Header(self, node: ast.Header, width: int) -> None:
        self._emit(f"pipeline {quote(node.name)}", node.span.line)

    def visit_Use(self, node: ast.Use, width: int) -> None:
        self._emit(f"use {node.alias.ljust(width)} = {quote(node.module)}", node.span.line)

    def visit_Include(self, node: ast.Include, width: int) -> None:
        self._emit(f"include {quote(node.path)}", node.span.line)

    def visit_OrderStmt(self, node: ast.OrderStmt, width: int) -> None:
        keyword = "require" if node.hard else "order"
        self._emit(f"{keyword} {node.first} {node.relation} {node.second}", node.span.line)

    def visit_Trainer(self, node: ast.Trainer, width: int) -> None:
        if not node.settings and not self._inside(node.span):
            self._emit("trainer {}", node.span.line)
            return
        self._open("trainer {", node.span.line)
        settings = list(node.settings)
        widths = self._widths(settings, lambda s: isinstance(s.value, ast.Call), lambda s: s.key)
        for setting, w in zip(settings, widths):
            self._before(setting.span.line)
            self._emit(f"{setting.key.ljust(w)} = {self.values.visit(setting.value)}", setting.span.line)
            self._done(setting.span)
        self._close(node.span)

    def visit_HookDecl(self, node: ast.HookDecl, width: int) -> None:
        call = self.values.visit(ast.Call(node.type, node.args, node.span))
        head = f"hook {node.name.ljust(width)} = {call}"
        if node.effects is None:
            self._emit(head, node.span.line)
        elif not node.effects and not self._inside(node.span):
            self._emit(head + " {}", node.span.line)
        elif len(node.effects) == 1 and not self._inside(node.span):
            self._emit(f"{head} {{ {self.values.visit(node.effects[0])} }}", node.span.line)
        else:
            self._open(head + " {", node.span.line)
            for effect in node.effects:
                self._before(effect.span.line)
                self._emit(self.values.visit(effect), effect.span.line)
                self._done(effect.span)
            self._close(node.span)

    def visit_ScopeBlock(self, node: ast.ScopeBlock, width: int = 0) -> None:
        head = node.name if node.target is None else f"{node.name} {node.target}"
        if not node.body and not self._inside(node.span):
            self._emit(f"{head} {{}}", node.span.line)
            return
        self._open(f"{head} {{", node.span.line)
        for child in node.body:
            self._before(child.span.line)
            self.visit(child)
            self._done(child.span)
        self._close(node.span)

    def visit_PhaseBlock(self, node: ast.PhaseBlock, width: int = 0) -> None:
        self._phase_items(node.phase, node.chains, node.span)

    def visit_Bracket(self, node: ast.Bracket, width: int = 0) -> None:
        self._phase_items(f"with {node.hook}", node.chains, node.span)

    def _phase_items(self, head: str, items: tuple[ast.Chain | ast.Bracket, ...], span: Span) -> None:
        """A phase block or a bracket: one line when it holds at most one chain and no comment."""
        inline = not self._inside(span)
        if inline and not items:
            self._emit(f"{head} {{}}", span.line)
            return
        if inline and len(items) == 1 and isinstance(items[0], ast.Chain):
            self._emit(f"{head} {{ {self.values.visit(items[0])} }}", span.line)
            return
        self._open(f"{head} {{", span.line)
        chains = list(items)
        widths = self._widths(chains, lambda c: True, _chain_key)
        for chain, w in zip(chains, widths):
            self._before(chain.span.line)
            if isinstance(chain, ast.Bracket):
                self.visit(chain)
            else:
                self._emit(self.values.visit(chain, w), chain.span.line)
            self._done(chain.span)
        self._close(span)


def _item_key(item: ast.Item) -> str | None:
    if isinstance(item, ast.Use):
        return item.alias
    if isinstance(item, ast.HookDecl):
        return item.name
    return None


def _chain_key(chain: ast.Chain | ast.Bracket) -> str | None:
    """Only single attachments with modifiers line their modifiers up."""
    if isinstance(chain, ast.Bracket) or len(chain.attachments) != 1:
        return None
    a = chain.attachments[0]
    has_modifiers = (a.every is not None or a.start is not None or a.until is not None or a.at_end
                     or a.on is not None)
    return a.hook if has_modifiers else None
