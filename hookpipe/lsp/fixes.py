"""Quick fixes for the diagnostics that have one, computed when they are published.

Each fix is a title and text edits; they travel in the diagnostic's ``data``, so
a code action request only reads them back from the diagnostics the editor
sends (nothing is recompiled, and the fix always matches what was shown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hookpipe.compiler.context import Compilation, Node
from hookpipe.diagnostics import Diagnostic, Remedy
from hookpipe.dsl.span import Span
from hookpipe.lint.suppress import find_suppression, suppression_comment
from hookpipe.lsp.convert import word_span

_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True, slots=True)
class Edit:
    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    preferred: bool = False


def fixes_for(d: Diagnostic, ctx: Compilation) -> list[Fix]:
    """Every fix that applies to ``d`` (none for most errors)."""
    found: list[Fix] = []
    m = _DID_YOU_MEAN.search(d.help or "")
    if m is not None:
        fix = _replace_word(d.span, m.group(1), ctx)
        if fix is not None:
            found.append(fix)
    if d.code == "HP005" and d.notes and d.notes[0].span is not None:
        fix = _reorder(ctx, d.span, d.notes[0].span)
        if fix is not None:
            found.append(fix)
    for remedy in d.remedies:  # edits the compiler saw clear it (an ordering cycle's)
        fix = _remedy(ctx, remedy, preferred=not found)
        if fix is not None:
            found.append(fix)
    if d.code == "HP101":
        node = _node_around(ctx, d.span)
        if node is not None:
            end = node.span
            found.append(Fix("Add `and at end`", (Edit(Span(end.file, end.end_line, end.end_column, end.end_line,
                                                            end.end_column), " and at end"),), preferred=True))
    if d.severity == "warning":
        found.append(_suppress(d, ctx))
    return found


def _text(ctx: Compilation, span: Span) -> str:
    line = ctx.sources.line(span.file, span.line) or ""
    end = span.end_column if span.end_line == span.line else len(line) + 1
    return line[span.column - 1:end - 1]


def _replace_word(span: Span, suggestion: str, ctx: Compilation) -> Fix | None:
    """Replace the name the diagnostic points at (its first word) with the suggestion."""
    m = _WORD.match(_text(ctx, span))
    if m is None:
        return None
    target = word_span(span.file, span.line, span.column, m.group())
    return Fix(f"Change `{m.group()}` to `{suggestion}`", (Edit(target, suggestion),), preferred=True)


def _node_around(ctx: Compilation, span: Span) -> Node | None:
    for node in ctx.nodes:
        s = node.span
        if s.file == span.file and s.line <= span.line <= s.end_line and s.column <= span.column <= s.end_column:
            return node
    return None


def _reorder(ctx: Compilation, early_span: Span, late_span: Span) -> Fix | None:
    """HP005: put the attachment that must run first before the other one.

    An attachment alone on its line moves as that line, above the other's line;
    otherwise (inside a chain) the two attachments trade places.
    """
    early, late = _node_around(ctx, early_span), _node_around(ctx, late_span)
    if early is None or late is None or early.span.file != late.span.file:
        return None
    title = f"Move `{early.hook}` before `{late.hook}`"
    line = ctx.sources.line(early.span.file, early.span.line) or ""
    alone = line.split("#", 1)[0].strip() == _text(ctx, early.span)
    if alone and early.span.line != late.span.line:
        file = early.span.file
        whole = Span(file, early.span.line, 1, early.span.line + 1, 1)
        at = Span(file, late.span.line, 1, late.span.line, 1)
        return Fix(title, (Edit(at, line + "\n"), Edit(whole, "")), preferred=True)
    return Fix(title, (Edit(early.span, _text(ctx, late.span)), Edit(late.span, _text(ctx, early.span))),
               preferred=True)


def _alone(ctx: Compilation, span: Span) -> str | None:
    """The line ``span`` is written on, when nothing else is (a comment aside); else None."""
    line = ctx.sources.line(span.file, span.line) or ""
    if span.end_line != span.line or line.split("#", 1)[0].strip() != _text(ctx, span):
        return None
    return line


def _remedy(ctx: Compilation, remedy: Remedy, preferred: bool) -> Fix | None:
    """A :class:`~hookpipe.diagnostics.Remedy` as text edits: whole lines moved or removed.

    Only where the edit is the one the compiler tried: an attachment and its anchor
    each alone on their line (a line move puts one right before or after the other
    in the block), a statement alone on its lines. Elsewhere the help line says it.
    """
    file = remedy.span.file
    if remedy.kind == "remove":
        line = ctx.sources.line(file, remedy.span.line) or ""
        rest = line[:remedy.span.column - 1] + line[remedy.span.end_column - 1:] \
            if remedy.span.end_line == remedy.span.line else None
        if rest is None or rest.split("#", 1)[0].strip():
            return None
        return Fix(remedy.title, (Edit(Span(file, remedy.span.line, 1, remedy.span.line + 1, 1), ""),), preferred)
    anchor = remedy.anchor
    moved = _alone(ctx, remedy.span)
    if anchor is None or anchor.file != file or moved is None or _alone(ctx, anchor) is None \
            or anchor.line == remedy.span.line:
        return None
    at = anchor.line if remedy.kind == "move_before" else anchor.line + 1
    return Fix(remedy.title, (Edit(Span(file, at, 1, at, 1), moved + "\n"),
                              Edit(Span(file, remedy.span.line, 1, remedy.span.line + 1, 1), "")), preferred)


def _suppress(d: Diagnostic, ctx: Compilation) -> Fix:
    line = ctx.sources.line(d.span.file, d.span.line) or ""
    title = f"Suppress {d.code} on this line"
    m = find_suppression(line)
    if m is not None:
        end = m.end(1) + 1
        sep = ", " if m.group(1).strip() else ""
        return Fix(title, (Edit(Span(d.span.file, d.span.line, end, d.span.line, end), f"{sep}{d.code}"),))
    end = len(line.rstrip()) + 1
    return Fix(title, (Edit(Span(d.span.file, d.span.line, end, d.span.line, len(line) + 1),
                            f"  {suppression_comment(d.code)}"),))
