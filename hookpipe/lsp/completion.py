"""Completion from where the cursor is: found in the text, not the AST.

While a line is being typed the file usually does not parse, so the context
(which blocks enclose the cursor, what the line holds so far) comes from a scan
of the text before the cursor, and the names on offer from the last analysis
that compiled (declared hooks, ``use`` aliases) plus the catalog.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from lsprotocol import types

from hookpipe.compiler.catalog import BUILTINS, RESOURCES
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.frequency import UNIT_SPELLINGS
from hookpipe.compiler.loop import SCOPE_UNITS, VALIDATION, VALIDATION_UNITS, plural
from hookpipe.compiler.plan import EFFECT_KINDS, PARENT, PHASES, UNITS
from hookpipe.compiler.settings import TrainerSettings
from hookpipe.dsl.grammar import terminals
from hookpipe.lsp.hover import describe_type

_TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\n|[{}()\[\]]|[A-Za-z_][A-Za-z0-9_.]*|->|[^\s]')
_TOP_LEVEL = ("pipeline", "use", "include", "trainer", "hook", "order", "require")
#: What the frequency pass accepts: each unit's own name after ``every``, its plural after a count.
_PLURALS = tuple(spelling for spelling, unit in UNIT_SPELLINGS.items() if spelling != unit)
#: What `every` counts in the loop's phases: the run's units, and the epoch's batches (inside a step).
_UNITS = (*UNITS, "batch")
#: Where a snippet's first tab stop or placeholder starts: ``$1``, ``${1:100}``, ``$0`` (not ``\\$``).
_TAB_STOP = re.compile(r"(?<!\\)\$(?:\d|\{)")


def _keyword(terminal: str) -> str:
    """A keyword as the grammar spells it (``WITH`` -> ``with``): the grammar is its one definition."""
    return terminals().literals[terminal]


#: What a ``with NAME {`` block is, for :func:`_block_owner`.
BRACKET = "bracket"
_CHILDREN = {parent: tuple(s for s, p in PARENT.items() if p == parent) for parent in (None, *PARENT)}


@dataclass(frozen=True, slots=True)
class Frame:
    """An open bracket before the cursor and the words that led up to it."""

    bracket: str
    words: tuple[str, ...]


def frames(text: str) -> list[Frame]:
    """The brackets open at the end of ``text``, outermost first."""
    stack: list[Frame] = []
    line: list[str] = []
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok == "\n":
            line = []
        elif tok in "{([":
            stack.append(Frame(tok, tuple(line)))
            line = []
        elif tok in "})]":
            line = [*stack.pop().words, tok] if stack else []
        elif tok[0] != "#":
            line.append(tok)
    return stack


def _item_capabilities(capabilities: types.ClientCapabilities) -> types.ClientCompletionItemOptions | None:
    completion = capabilities.text_document.completion if capabilities.text_document else None
    return completion.completion_item if completion else None


def snippet_support(capabilities: types.ClientCapabilities) -> bool:
    """The client declared ``textDocument.completion.completionItem.snippetSupport``."""
    item = _item_capabilities(capabilities)
    return bool(item and item.snippet_support)


def markdown_support(capabilities: types.ClientCapabilities) -> bool:
    """The client lists Markdown in ``completionItem.documentationFormat``."""
    item = _item_capabilities(capabilities)
    return bool(item and item.documentation_format and types.MarkupKind.Markdown in item.documentation_format)


def complete(text: str, ctx: Compilation | None, snippets: bool = True,
             markdown: bool = True) -> list[types.CompletionItem]:
    """Completion items for a cursor at the end of ``text`` (the document up to the cursor).

    Without ``snippets`` (a client that did not declare snippet support) every item
    is plain text: see :func:`plain_text`. Without ``markdown`` the documentation is
    sent as a plain string (the same words; the client would otherwise drop them).
    """
    items = _complete(text, ctx)
    if not snippets:
        items = [plain_text(item) for item in items]
    if not markdown:
        items = [_plain_documentation(item) for item in items]
    return items


def _plain_documentation(item: types.CompletionItem) -> types.CompletionItem:
    if not isinstance(item.documentation, types.MarkupContent) or item.documentation.kind != types.MarkupKind.Markdown:
        return item
    plain = copy.copy(item)
    plain.documentation = item.documentation.value  # a plain string: every client takes it
    return plain


def plain_text(item: types.CompletionItem) -> types.CompletionItem:
    """``item`` as plain text, for a client that would insert ``${1:100}`` or ``$0`` literally.

    The text is the snippet's up to its first tab stop, on one line: what the user
    would type before the first thing they choose (``every ``, ``loop {``,
    ``grad_clip(``), so the next completion (the units after ``every 100``, the
    arguments after ``(``) takes over from there. A newline is never inserted: some
    clients (Vim's) insert it as a NUL character.
    """
    if item.insert_text_format != types.InsertTextFormat.Snippet or item.insert_text is None:
        return item
    text = _TAB_STOP.split(item.insert_text, 1)[0].split("\n", 1)[0]
    plain = copy.copy(item)
    plain.insert_text = text.replace("\\$", "$").replace("\\}", "}").replace("\\\\", "\\")
    plain.insert_text_format = types.InsertTextFormat.PlainText
    return plain


def _complete(text: str, ctx: Compilation | None) -> list[types.CompletionItem]:
    stack = frames(text)
    line = text.rsplit("\n", 1)[-1]
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_.]*|\d+|->|=|\"", line)
    partial = bool(re.search(r"[A-Za-z0-9_.]$", line))
    before = words[:-1] if partial and words else words
    top = stack[-1] if stack else None
    hooks = sorted(ctx.hooks) if ctx else []
    if top is None:
        return _top_level(before, ctx)
    if top.bracket == "(":
        return _arguments(top, stack)
    if top.bracket != "{":
        return _values(ctx)
    owner = _block_owner(top)
    in_validation = any(f.bracket == "{" and f.words[:1] == (VALIDATION,) for f in stack)
    if owner in PHASES or owner == BRACKET:
        return _attachment(before, hooks, ctx, _units(stack, in_validation))
    if owner == VALIDATION or (in_validation and owner == "batch"):
        scopes = [] if owner == "batch" else [_item("batch", types.CompletionItemKind.Module, "batch {\n\t$0\n}",
                                                    detail="one validation batch")]
        return scopes + [_item(p, types.CompletionItemKind.Event, f"{p} {{ $0 }}") for p in PHASES]
    if owner == "trainer":
        if "=" in before:
            return _values(ctx)
        return [_item(k, types.CompletionItemKind.Property, f"{k} = ") for k in TrainerSettings.model_fields]
    if owner == "effects":
        if before and before[0] in EFFECT_KINDS:
            return [_item(r, types.CompletionItemKind.Variable) for r in RESOURCES]
        return [_item(k, types.CompletionItemKind.Keyword, f"{k} ") for k in EFFECT_KINDS]
    if owner in PARENT:
        scopes = [_item(s, types.CompletionItemKind.Module, f"{s} {{\n\t$0\n}}") for s in _CHILDREN[owner]]
        return scopes + [_item(p, types.CompletionItemKind.Event, f"{p} {{ $0 }}") for p in PHASES]
    return _values(ctx)


def _block_owner(frame: Frame) -> str:
    """What a ``{`` opens: a scope, a phase, ``trainer``, a hook's effects, or a value table."""
    words = frame.words
    if not words:
        return "table"
    if words[0] == _keyword("WITH"):
        return BRACKET
    if words[0] == VALIDATION and len(words) == 2:
        return VALIDATION
    if words[-1] == ")" and words[0] == "hook":
        return "effects"
    if words[-1] == "=":
        return "table"
    return words[-1]


def _top_level(before: list[str], ctx: Compilation | None) -> list[types.CompletionItem]:
    if not before:
        return ([_item(k, types.CompletionItemKind.Keyword, f"{k} ") for k in _TOP_LEVEL] +
                [_item("loop", types.CompletionItemKind.Module, "loop {\n\t$0\n}"),
                 _item(VALIDATION, types.CompletionItemKind.Module,
                       f"{VALIDATION} ${{1:evaluate}} {{\n\tbatch {{\n\t\tafter {{ $0 }}\n\t}}\n}}",
                       detail="the scopes of a validation hook's own run over its dataloader")])
    if before == [VALIDATION]:
        return [_item(h, types.CompletionItemKind.Function) for h in _validation_hooks(ctx)]
    if before[0] == "hook" and before[-1] == "=":
        types_ = [types.CompletionItem(label=name, kind=types.CompletionItemKind.Class, detail=h.summary,
                                       documentation=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                                         value=describe_type(h)),
                                       insert_text=f"{name}($0)", insert_text_format=types.InsertTextFormat.Snippet)
                  for name, h in sorted(BUILTINS.items())]
        return types_ + _aliases(ctx)
    if before[0] in ("order", "require"):
        if len(before) == 2:
            return [_item(w, types.CompletionItemKind.Keyword, f"{w} ") for w in ("before", "after")]
        return [_item(h, types.CompletionItemKind.Function) for h in sorted(ctx.hooks)] if ctx else []
    if before[0] == "use" and before[-1] in ("=", '"') and ctx is not None:
        return [_item(u.module, types.CompletionItemKind.Module, detail=f"as written for `{u.alias}`")
                for u in sorted({u.module: u for u in ctx.uses.values()}.values(), key=lambda u: u.module)]
    return _values(ctx)


def _arguments(top: Frame, stack: list[Frame]) -> list[types.CompletionItem]:
    """Keyword arguments of a built-in hook type: ``hook x = grad_clip(|``."""
    words = top.words
    if len(words) >= 4 and words[0] == "hook" and words[2] == "=":
        hook_type = BUILTINS.get(words[3])
        if hook_type is not None:
            return [types.CompletionItem(label=name, kind=types.CompletionItemKind.Field,
                                         detail=str(info.annotation).replace("typing.", ""),
                                         insert_text=f"{name} = ")
                    for name, info in hook_type.schema.model_fields.items()]
    return []


def _validation_hooks(ctx: Compilation | None) -> list[str]:
    """Hooks a validation block can open: ``validation`` built-ins with a ``dataloader``."""
    if ctx is None:
        return []
    return sorted(name for name, info in ctx.hooks.items() if info.builtin is not None
                  and info.builtin.name == "validation" and info.args.get("dataloader") is not None)


def _units(stack: list[Frame], in_validation: bool) -> tuple[str, ...]:
    """What a frequency may count in the phase being written: its scope's units (HP007 for others)."""
    if in_validation:  # its batches count; its own before/after run once per validation
        return VALIDATION_UNITS if any(f.bracket == "{" and _block_owner(f) == "batch" for f in stack) else ()
    scope = next((owner for f in reversed(stack) if f.bracket == "{" and (owner := _block_owner(f)) in SCOPE_UNITS),
                 None)
    return SCOPE_UNITS[scope] if scope is not None else _UNITS


def _attachment(before: list[str], hooks: list[str], ctx: Compilation | None = None,
                units: tuple[str, ...] = ("step", "update", "batch")) -> list[types.CompletionItem]:
    """Inside a phase block or a bracket: hook names and ``with``, then modifiers, the phase's units
    after ``every``, ``main`` after ``on``, bracket hooks after ``with``."""
    with_, until = _keyword("WITH"), _keyword("UNTIL")
    if not before:
        return ([_item(h, types.CompletionItemKind.Function) for h in hooks]
                + [_item(with_, types.CompletionItemKind.Keyword, f"{with_} ${{1:swap}} {{ $0 }}",
                         detail="a bracket: the hook's enter, the attachments inside, its exit")])
    if before[-1] == "->":
        return [_item(h, types.CompletionItemKind.Function) for h in hooks]
    last = before[-1]
    if last == with_ and len(before) == 1:
        return [_item(h, types.CompletionItemKind.Function) for h in _bracket_hooks(ctx)]
    if last == "every":
        return [_item(u, types.CompletionItemKind.Unit) for u in units]
    if last.isdigit() and len(before) >= 2 and before[-2] == "every":
        return [_item(p, types.CompletionItemKind.Unit) for p in _PLURALS if UNIT_SPELLINGS[p] in units]
    if last == "on":
        return [_item("main", types.CompletionItemKind.EnumMember)]
    frequency = [("every", f"every ${{1:100}} ${{2:{plural(units[0])}}}"), ("from", "from ${1:1}"),
                 (until, f"{until} ${{1:100}}"), ("and at end", "and at end")] if units else []  # loop: runs once
    modifiers = [*frequency, ("on main", "on main"), ("->", "-> ")]
    return [_item(label, types.CompletionItemKind.Keyword, snippet) for label, snippet in modifiers]


def _bracket_hooks(ctx: Compilation | None) -> list[str]:
    """Hooks that can open a bracket: built-in bracket types and custom hooks (which may define enter/exit)."""
    if ctx is None:
        return []
    return sorted(name for name, info in ctx.hooks.items() if info.builtin is None or info.builtin.bracket)


def _aliases(ctx: Compilation | None) -> list[types.CompletionItem]:
    if ctx is None:
        return []
    return [_item(u.alias, types.CompletionItemKind.Module, detail=f'use {u.alias} = "{u.module}"')
            for u in sorted(ctx.uses.values(), key=lambda u: u.alias)]


def _values(ctx: Compilation | None) -> list[types.CompletionItem]:
    return _aliases(ctx) + [_item(w, types.CompletionItemKind.Constant) for w in ("true", "false", "none")]


def _item(label: str, kind: types.CompletionItemKind, snippet: str | None = None,
          detail: str | None = None) -> types.CompletionItem:
    return types.CompletionItem(label=label, kind=kind, detail=detail, insert_text=snippet,
                                insert_text_format=types.InsertTextFormat.Snippet if snippet else None)
