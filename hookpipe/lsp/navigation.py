"""Go to definition, references, rename and the outline, as queries over the index.

Hook names and ``use`` aliases are one namespace per pipeline (includes
merged), so their definition, references and renames span every file of the
compilation; an ``include`` path leads to the file it names.
"""

from __future__ import annotations

import os
import re

from lsprotocol import types

from hookpipe.compiler.context import Compilation
from hookpipe.dsl import ast
from hookpipe.dsl.grammar import terminals
from hookpipe.dsl.span import Span
from hookpipe.lsp.convert import span_range, uri_of
from hookpipe.lsp.index import Index, Occurrence

#: Kinds that name something declared once and used elsewhere.
NAMED = ("hook", "alias")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def reserved_words() -> frozenset[str]:
    """The words no name may take: the grammar's keyword terminals, read from the grammar itself."""
    return frozenset(terminals().keywords)


def definition(occ: Occurrence, index: Index) -> types.Location | None:
    if occ.kind == "include":
        start = types.Position(line=0, character=0)
        return types.Location(uri=uri_of(_included(occ)), range=types.Range(start=start, end=start))
    if occ.kind not in NAMED:
        return None
    found = index.definition(occ.kind, occ.name)
    return types.Location(uri=uri_of(found.span.file), range=span_range(found.span)) if found else None


def references(occ: Occurrence, index: Index, include_declaration: bool) -> list[types.Location]:
    """Every use of a hook or alias; for an ``include`` path, every include of that same file."""
    if occ.kind == "include":
        target = _included(occ)
        return [types.Location(uri=uri_of(o.span.file), range=span_range(o.span))
                for o in index.all() if o.kind == "include" and _included(o) == target]
    if occ.kind not in NAMED:
        return []
    return [types.Location(uri=uri_of(o.span.file), range=span_range(o.span))
            for o in index.named(occ.kind, occ.name) if include_declaration or not o.definition]


def _included(occ: Occurrence) -> str:
    """The file an include names, as the loader finds it (relative to the including file)."""
    return os.path.realpath(os.path.join(os.path.dirname(occ.span.file), occ.name))


def rename(occ: Occurrence, index: Index, new_name: str) -> types.WorkspaceEdit | None:
    """Every occurrence renamed, in each file; a ValueError says why a name cannot be used."""
    if occ.kind not in NAMED:
        return None
    if not _NAME.fullmatch(new_name) or new_name in reserved_words():
        raise ValueError(f"`{new_name}` is not a valid {occ.kind} name")
    if index.definition(occ.kind, new_name) is not None:
        raise ValueError(f"a {occ.kind} named `{new_name}` already exists")
    changes: dict[str, list[types.TextEdit]] = {}
    for o in index.named(occ.kind, occ.name):
        changes.setdefault(uri_of(o.span.file), []).append(types.TextEdit(range=span_range(o.span),
                                                                         new_text=new_name))
    return types.WorkspaceEdit(changes=changes)


def symbols(file: ast.File, ctx: Compilation) -> list[types.DocumentSymbol]:
    """The outline of one file: uses, includes, trainer, hooks, scopes with phases and attachments, orders."""
    out: list[types.DocumentSymbol] = []
    for item in file.items:
        if isinstance(item, ast.Use):
            out.append(_symbol(item.alias, types.SymbolKind.Package, item.span, item.alias_span, item.module))
        elif isinstance(item, ast.Include):
            out.append(_symbol(item.path, types.SymbolKind.File, item.span, item.span, "include"))
        elif isinstance(item, ast.Trainer):
            children = [_symbol(s.key, types.SymbolKind.Property, s.span, s.span) for s in item.settings]
            out.append(_symbol("trainer", types.SymbolKind.Namespace, item.span, item.span, children=children))
        elif isinstance(item, ast.HookDecl):
            info = ctx.hooks.get(item.name)
            out.append(_symbol(item.name, types.SymbolKind.Function, item.span, item.name_span,
                               info.type_name if info else None))
        elif isinstance(item, ast.ScopeBlock):
            out.append(_scope(item))
        elif isinstance(item, ast.OrderStmt):
            word = "require" if item.hard else "order"
            out.append(_symbol(f"{word} {item.first} {item.relation} {item.second}", types.SymbolKind.Operator,
                               item.span, item.span))
    return out


def _scope(block: ast.ScopeBlock) -> types.DocumentSymbol:
    children: list[types.DocumentSymbol] = []
    for child in block.body:
        if isinstance(child, ast.ScopeBlock):
            children.append(_scope(child))
            continue
        attachments = [_symbol(a.hook, types.SymbolKind.Event, a.span, a.name_span)
                       for a in ast.phase_attachments(child.chains)]
        children.append(_symbol(f"{block.name}.{child.phase}", types.SymbolKind.Namespace, child.span, child.span,
                                children=attachments))
    return _symbol(block.name, types.SymbolKind.Module, block.span, block.name_span, children=children)


def _symbol(name: str, kind: types.SymbolKind, span: Span, selection: Span, detail: str | None = None,
            children: list[types.DocumentSymbol] | None = None) -> types.DocumentSymbol:
    return types.DocumentSymbol(name=name, kind=kind, range=span_range(span), selection_range=span_range(selection),
                                detail=detail, children=children or None)
