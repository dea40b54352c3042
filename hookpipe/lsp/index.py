"""What is where in a pipeline: every name occurrence with its span and meaning.

One walk over the typed AST of every file of a compilation yields the
occurrences that hover, definition, references, rename, highlights and code
actions all look up, so each feature is a small query over one list instead of
its own tree walk. Spans of words the AST does not keep (the first part of a
dotted reference, an argument name, an effect's resources, an include's path)
are derived from the node's span and the source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Literal

from hookpipe.compiler.context import Compilation, Node
from hookpipe.diagnostics import Sources
from hookpipe.dsl import ast
from hookpipe.dsl.span import Span
from hookpipe.lint.suppress import suppressions
from hookpipe.lsp.convert import contains, word_span

Kind = Literal["hook", "alias", "include", "type", "argument", "setting", "scope", "phase", "frequency",
               "unit", "process", "resource", "code"]
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE = re.compile(r"HP\d{3}", re.I)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One name in the source: what it is, where, and the node it belongs to."""

    kind: Kind
    name: str
    span: Span
    definition: bool = False
    #: The hook type an argument belongs to; the scope.phase of an attachment.
    owner: str | None = None
    node: object = None


@dataclass
class Index:
    """Every occurrence of a compilation, by file, plus the attachment -> graph node map."""

    by_file: dict[str, list[Occurrence]] = field(default_factory=dict)
    nodes: dict[Span, Node] = field(default_factory=dict)

    def at(self, file: str, line: int, column: int) -> Occurrence | None:
        """The innermost occurrence at a 1-based position, None where there is none."""
        best: Occurrence | None = None
        for occ in self.by_file.get(file, ()):
            if contains(occ.span, line, column) and (best is None or _size(occ.span) <= _size(best.span)):
                best = occ
        return best

    def all(self) -> Iterator[Occurrence]:
        for occurrences in self.by_file.values():
            yield from occurrences

    def named(self, kind: Kind, name: str) -> list[Occurrence]:
        """Every occurrence of ``name`` as ``kind`` in all files, in file and position order."""
        return sorted((o for o in self.all() if o.kind == kind and o.name == name),
                      key=lambda o: (o.span.file, o.span.line, o.span.column))

    def definition(self, kind: Kind, name: str) -> Occurrence | None:
        return next((o for o in self.named(kind, name) if o.definition), None)


def _size(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)


def build_index(ctx: Compilation) -> Index:
    """Index every file of ``ctx`` (what parsed; a file with syntax errors has no AST)."""
    index = Index(nodes={n.attachment.span: n for n in ctx.nodes})
    for file, _ in ctx.files:
        out: list[Occurrence] = []
        _Walker(out, ctx.sources, index).file(file)
        index.by_file[file.path] = out
    return index


class _Walker:
    def __init__(self, out: list[Occurrence], sources: Sources, index: Index) -> None:
        self.out = out
        self.sources = sources
        self.index = index

    def add(self, kind: Kind, name: str, span: Span, **kw: object) -> None:
        self.out.append(Occurrence(kind, name, span, **kw))  # type: ignore[arg-type]

    def file(self, file: ast.File) -> None:
        for item in file.items:
            getattr(self, f"item_{type(item).__name__}", lambda item: None)(item)
        for line, mark in suppressions(file).items():
            text = self.sources.line(file.path, line) or ""
            for m in _CODE.finditer(text, mark.span.column - 1, mark.span.end_column - 1):
                self.add("code", m.group().upper(), word_span(file.path, line, m.start() + 1, m.group()))

    def item_Use(self, item: ast.Use) -> None:
        self.add("alias", item.alias, item.alias_span, definition=True, node=item)

    def item_Include(self, item: ast.Include) -> None:
        text = self.sources.line(item.span.file, item.span.line) or ""
        quote = text.find('"', item.span.column - 1)
        if quote >= 0:
            end = text.find('"', quote + 1)
            span = Span(item.span.file, item.span.line, quote + 2, item.span.line, (end if end > 0 else len(text)) + 1)
            self.add("include", item.path, span, node=item)

    def item_Trainer(self, item: ast.Trainer) -> None:
        for setting in item.settings:
            self.add("setting", setting.key, word_span(setting.span.file, setting.span.line, setting.span.column,
                                                        setting.key), node=setting)
            self.value(setting.value)

    def item_HookDecl(self, item: ast.HookDecl) -> None:
        self.add("hook", item.name, item.name_span, definition=True, node=item)
        type_name = None
        if isinstance(item.type, ast.Ref):
            if len(item.type.parts) == 1:
                type_name = item.type.parts[0]
                self.add("type", type_name, item.type.span, node=item)
            else:
                self.ref(item.type)
        for arg in item.args:
            self.add("argument", arg.name, word_span(arg.span.file, arg.span.line, arg.span.column, arg.name),
                     owner=type_name, node=item)
            self.value(arg.value)
        for effect in item.effects or ():
            self.effect(effect)

    def effect(self, effect: ast.Effect) -> None:
        text = self.sources.line(effect.span.file, effect.span.line) or ""
        start = effect.span.column - 1 + len(effect.kind)
        end = effect.span.end_column - 1 if effect.span.end_line == effect.span.line else len(text)
        for m in _WORD.finditer(text, start, end):
            if m.group() in effect.resources:
                self.add("resource", m.group(), word_span(effect.span.file, effect.span.line, m.start() + 1,
                                                          m.group()), owner=effect.kind)

    def item_ScopeBlock(self, item: ast.ScopeBlock, parent: str | None = None) -> None:
        self.add("scope", item.name, item.name_span, owner=parent, node=item)
        if item.target is not None and item.target_span is not None:  # `validation NAME { }` names a hook
            self.add("hook", item.target, item.target_span, owner=item.name, node=item)
        for child in item.body:
            if isinstance(child, ast.ScopeBlock):
                self.item_ScopeBlock(child, item.name)
                continue
            self.add("phase", child.phase, word_span(child.span.file, child.span.line, child.span.column,
                                                     child.phase), owner=item.name, node=child)
            self.phase_items(child.chains, f"{item.name}.{child.phase}")

    def phase_items(self, items: tuple[ast.Chain | ast.Bracket, ...], where: str) -> None:
        for chain in items:
            if isinstance(chain, ast.Bracket):
                self.add("hook", chain.hook, chain.name_span, owner=where, node=chain)
                self.phase_items(chain.chains, where)
                continue
            for a in chain.attachments:
                self.attachment(a, where)

    def attachment(self, a: ast.Attachment, where: str) -> None:
        self.add("hook", a.hook, a.name_span, owner=where, node=a)
        if a.every is not None:
            self.add("frequency", "every", a.every.span, owner=where, node=a)
            self.add("unit", a.every.unit, a.every.unit_span, owner=where, node=a)
        if a.start_span is not None:
            self.add("frequency", "from", a.start_span, owner=where, node=a)
        if a.until_span is not None:
            self.add("frequency", "until", a.until_span, owner=where, node=a)
        if a.on is not None and a.on_span is not None:
            self.add("process", a.on, a.on_span, owner=where, node=a)

    def item_OrderStmt(self, item: ast.OrderStmt) -> None:
        self.add("hook", item.first, item.first_span, node=item)
        self.add("hook", item.second, item.second_span, node=item)

    def value(self, value: ast.Value) -> None:
        if isinstance(value, ast.Ref):
            self.ref(value)
        elif isinstance(value, ast.Call):
            if isinstance(value.callee, ast.Ref):
                self.ref(value.callee)
            for arg in value.args:
                self.value(arg.value)
        elif isinstance(value, ast.ListValue):
            for v in value.items:
                self.value(v)
        elif isinstance(value, ast.Table):
            for arg in value.items:
                self.value(arg.value)

    def ref(self, ref: ast.Ref) -> None:
        """The alias part of a dotted reference (``digits`` in ``digits.evaluate``)."""
        if len(ref.parts) > 1 or ref.parts[0] not in ("true", "false", "none"):
            self.add("alias", ref.parts[0], word_span(ref.span.file, ref.span.line, ref.span.column, ref.parts[0]),
                     node=ref)
