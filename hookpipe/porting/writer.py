"""A ``Port`` as ``.pipe`` text, laid out by hookpipe's own formatter.

Every piece of text that came from the input file goes through one of two
functions here before it reaches the output: ``value_text`` (a value: strings
through the formatter's ``quote``, the parser's inverse) and ``comment_text``
(the text of a ``#`` comment: one line, control characters escaped). Names are
made safe by ``pipe_name``. So a configuration cannot inject lines into the
``.pipe`` file it is turned into.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from typing import Any, Iterable

from hookpipe.dsl.formatter import format_text, quote
from hookpipe.dsl.grammar import terminals
from hookpipe.fileaccess import display_name
from hookpipe.porting.model import PROJECT, Attachment, Call, Item, Port, Ref, RunValue

#: The marker of a line that needs a person; ``hookpipe import`` lists the lines carrying it.
MARK = "# hookpipe import:"
#: Words the language reserves or is about to (``until``, ``with``): never used as generated names.
_FUTURE_WORDS = frozenset({"until", "with", "validation", "run"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Trainer settings in the order they are written: run settings, then factories, then tracking.
_SETTING_ORDER = ("max_step", "max_epoch", "grad_accumulation", "mixed_precision", "seed", "model", "dataloader",
                  "optimizer", "lr_scheduler", "batch_processor", "log_with", "log_dir")
#: A mark's note longer than this goes on over comment lines below its line, each starting with this.
CONTINUED = "# hookpipe import, continued:"
#: A comment longer than this is cut (a config value can be arbitrarily long); a mark's note is
#: wrapped at it instead (see ``_marked``).
MAX_COMMENT = 240
#: A mark's whole note is cut past this (the list of keys of a config built to be huge stays bounded).
MAX_NOTE = 8000
#: The width a long note is wrapped at.
_WRAP = 100


class Unwritable(ValueError):
    """A value the language has no literal for (``nan``, a dict with a non-name key, an object)."""


def reserved_words() -> frozenset[str]:
    return frozenset(terminals().reserved) | _FUTURE_WORDS


def pipe_name(text: str, fallback: str = "hook") -> str:
    """``text`` as a ``.pipe`` name: snake case, only name characters, never a reserved word.

    Example:
        >>> pipe_name("YOLOXModeSwitchHook")
        'yolox_mode_switch'
    """
    last = text.split(".")[-1].split(":")[-1]
    if len(last) > 4 and last.endswith("Hook"):
        last = last[:-4]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", last).lower()
    snake = re.sub(r"[^a-z0-9_]+", "_", snake).strip("_") or fallback
    if snake[0].isdigit():
        snake = f"{fallback}_{snake}"
    if snake in reserved_words():
        snake = f"{snake}_hook"
    return snake


def is_name(text: str) -> bool:
    return bool(_NAME.match(text)) and text not in reserved_words()


def is_dotted(path: str) -> bool:
    """``pkg.mod.Name``: what a quoted class path must look like."""
    parts = path.split(".")
    return len(parts) >= 2 and all(p.isidentifier() and p.isascii() for p in parts)


def comment_text(text: str, limit: int = MAX_COMMENT) -> str:
    """``text`` as the body of a one-line comment: control characters escaped, cut at ``limit``."""
    one_line = display_name(" ".join(str(text).split("\n")))
    return one_line if len(one_line) <= limit else one_line[:limit - 3] + "..."


def value_text(value: Any) -> str:
    """A Python value read from a configuration as a ``.pipe`` value; ``Unwritable`` when there is none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unwritable(f"{value!r} has no .pipe literal")
        text = repr(value)
        return text if any(c in text for c in ".e") else f"{text}.0"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + arguments_text(value) + " }" if value else "{}"
    if isinstance(value, Ref):
        if not all(is_name(part) for part in value.dotted.split(".")):
            raise Unwritable(f"{value.dotted!r} is not a dotted name")
        return value.dotted
    if isinstance(value, RunValue):
        return f"run.{value.name}"
    if isinstance(value, Call):
        callee = value_text(value.callee) if isinstance(value.callee, Ref) else quote(value.callee)
        return f"{callee}({arguments_text(value.args)})"
    raise Unwritable(f"a {type(value).__name__} has no .pipe literal")


def arguments_text(args: dict[str, Any]) -> str:
    """``k = v, ...``; a key that is not a name cannot be a keyword argument (``Unwritable``).

    A reserved word is a name here: the grammar takes one as an argument's name
    (``every = 5``), as Python keyword arguments often are.
    """
    parts = []
    for key, val in args.items():
        if not isinstance(key, str) or not _NAME.match(key):
            raise Unwritable(f"the key {comment_text(repr(key))} is not a .pipe name")
        parts.append(f"{key} = {value_text(val)}")
    return ", ".join(parts)


def split_writable(args: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The arguments that can be written as ``.pipe`` keyword arguments, and the names of the others."""
    kept, left = {}, []
    for key, value in args.items():
        try:
            arguments_text({key: value})
        except Unwritable:
            left.append(comment_text(str(key)))
        else:
            kept[key] = value
    return kept, left


def _marked(line: str, note: str | None) -> str:
    """``line`` with its mark, as text: one line, or, for a long note, more.

    A mark names what the import did not translate, so it is never cut where a
    person would lose an item of it: a note past ``MAX_COMMENT`` is wrapped, its
    first part on the line, the rest on ``CONTINUED`` comment lines right below
    (indented as the line), which :func:`marked_lines` joins back into one note.
    """
    if not note:
        return line
    body = comment_text(note, MAX_NOTE)
    if len(body) <= MAX_COMMENT:
        return f"{line}  {MARK} {body}"
    first, *rest = textwrap.wrap(body, _WRAP, break_on_hyphens=False, break_long_words=False)
    pad = line[:len(line) - len(line.lstrip())]
    return "\n".join([f"{line}  {MARK} {first}", *(f"{pad}{CONTINUED} {part}" for part in rest)])


def _item_lines(item: Item, depth: int) -> list[str]:
    pad = "    " * depth
    if isinstance(item, Attachment):
        mods = f" {item.modifiers}" if item.modifiers else ""
        return [_marked(f"{pad}{item.hook}{mods}", item.note)]
    lines = [_marked(f"{pad}with {item.hook} {{", item.note)]
    for inner in item.items:
        lines += _item_lines(inner, depth + 1)
    return lines + [f"{pad}}}"]


def _scope_lines(name: str, path: tuple[str, ...], phases: dict[tuple[tuple[str, ...], str], list[Item]],
                 children: tuple[str, ...], depth: int, header: str | None = None) -> list[str]:
    """The block of scope ``path``: ``before``, the inner scope, ``after``; nothing when all are empty."""
    pad = "    " * depth
    body: list[str] = []
    for phase in ("before", "after"):
        if phase == "after" and children:
            body += _scope_lines(children[0], path + (children[0],), phases, children[1:], depth + 1)
        items = phases.get((path, phase), [])
        if items:
            body.append(f"{pad}    {phase} {{")
            for item in items:
                body += _item_lines(item, depth + 2)
            body.append(f"{pad}    }}")
    if not body:
        return []
    return [f"{pad}{header or name} {{", *body, f"{pad}}}"]


def pipe_lines(port: Port) -> list[str]:
    """The ``.pipe`` text of ``port``, before formatting, as lines."""
    lines = [f"# Written by `hookpipe import {port.kind}` from {comment_text(port.source)}.",
             "# Lines ending in a `hookpipe import:` comment need a person; see docs/import.md."]
    lines += ["", f"pipeline {quote(port.name)}", ""]
    if port.uses:
        lines += [_marked(f"use {alias} = {quote(module)}", _use_note(port, alias))
                  for alias, module in port.uses.items()]
        lines.append("")
    if port.settings:
        lines.append("trainer {")
        for s in sorted(port.settings, key=lambda s: _SETTING_ORDER.index(s.key) if s.key in _SETTING_ORDER
                        else len(_SETTING_ORDER)):
            lines.append(_marked(f"    {s.key} = {_value_or_mark(s.value, s)}", s.note))
        lines += ["}", ""]
    for h in port.hooks:
        if not h.builtin and not is_dotted(h.callee):
            h.note = _join(h.note, f"the class path {comment_text(repr(h.callee))} is not a dotted Python name")
            h.callee = "unnamed.Hook"
        callee = h.callee if h.builtin else quote(h.callee)
        parts = []
        for key, value in h.args.items():
            try:
                parts.append(arguments_text({key: value}))
            except Unwritable as exc:
                h.note = _join(h.note, f"argument left out: {exc}")
        args = ", ".join(parts)
        effects = ""
        if h.effects:
            effects = " { " + h.effects[0] + " }" if len(h.effects) == 1 else \
                " {\n" + "".join(f"    {e}\n" for e in h.effects) + "}"
        text = f"hook {h.name} = {callee}({args}){effects}"
        if h.note and "\n" in effects:
            first, rest = text.split("\n", 1)
            lines.append(f"{_marked(first, h.note)}\n{rest}")
        else:
            lines.append(_marked(text, h.note))
    lines.append("")
    scopes = _scope_lines("loop", ("loop",), port.phases, ("epoch", "step", "batch"), 0)
    lines += scopes
    for hook, phases in port.validation_phases.items():
        block = _scope_lines("validation", ("validation",), phases, ("batch",), 0, header=f"validation {hook}")
        if block:
            lines += ["", *block]
    if port.orders:
        lines += ["", *port.orders]
    return "\n".join(lines).split("\n")


def _use_note(port: Port, alias: str) -> str | None:
    if alias == PROJECT and port.module is None and port.needs:
        return f"name the module that defines {', '.join(sorted(port.needs))} (or pass --module)"
    return None


def _value_or_mark(value: Any, setting: Any) -> str:
    try:
        return value_text(value)
    except Unwritable as exc:
        setting.note = _join(setting.note, f"not representable, set by hand: {exc}")
        return "none"


def _join(a: str | None, b: str) -> str:
    return f"{a}; {b}" if a else b


@dataclass
class Written:
    """The formatted text and the 1-based lines that carry a ``# hookpipe import:`` mark."""

    text: str
    marked: list[tuple[int, str]]


def write_port(port: Port) -> Written:
    """``port`` as formatted ``.pipe`` text, and its marked lines (line number, what to do)."""
    raw = "\n".join(pipe_lines(port)) + "\n"
    formatted = format_text(raw, f"<{port.kind} import>")
    text = formatted.text if formatted.text is not None else raw
    return Written(text, marked_lines(text.splitlines()))


def marked_lines(lines: Iterable[str]) -> list[tuple[int, str]]:
    """Each marked line's number (1-based) and its whole note (its ``CONTINUED`` lines joined on)."""
    marks: list[tuple[int, str]] = []
    continues = False  # whether a CONTINUED line here goes on the last mark's note
    for number, line in enumerate(lines, 1):
        if continues and line.lstrip().startswith(CONTINUED):
            at, note = marks[-1]
            marks[-1] = at, f"{note} {line.lstrip()[len(CONTINUED):].strip()}"
            continue
        at = line.find(MARK)
        continues = at >= 0
        if continues:
            marks.append((number, line[at + len(MARK):].strip()))
    return marks
