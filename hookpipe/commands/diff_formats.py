"""``hookpipe diff``'s outputs: text for a terminal, Markdown for a pull-request comment, JSON.

Every value that comes from a file (names, paths, argument values, messages)
passes through ``hookpipe.fileaccess.display_name`` (``hookpipe.escaping.escape``)
before it is printed, and in Markdown it is also put in a code span fenced by
more backticks than it holds, so a hostile string cannot close the span, forge a
heading, mention someone or inject HTML into the comment.

Long values are cut, each where what tells it apart survives: a value from a
file keeps its start (:func:`shown`); a path or ``file:line`` its end, the file's
name and line (:func:`shown_path`); the two sides of a changed value the part
around their first difference (:func:`shown_pair`), so two values that differ
past the cut never print alike; hookpipe's own sentences (ordering reasons,
messages) are cut at a word boundary (:func:`explained`). JSON is escaped by
``json`` itself and never cut; its schema is docs/diff.schema.json (``version``
1, fields only added).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from hookpipe.compiler.plan_diff import (
    BracketChange,
    FileDiff,
    Finding,
    HookChange,
    Move,
    PhaseDiff,
    Rewrite,
    RunValueChange,
    ValueChange,
)
from hookpipe.fileaccess import display_name

JSON_VERSION = 1
#: A value longer than this is cut (a 100 kB string argument is not read in a review).
MAX_VALUE = 120
#: A sentence of hookpipe's own (an ordering reason, a message) longer than this is cut at a word.
MAX_SENTENCE = 4 * MAX_VALUE
#: Markdown lists longer than this are folded into ``<details>``.
FOLD_AFTER = 6
#: The summary line's marker, so a CI step can find and update its own comment.
MARKER = "<!-- hookpipe diff -->"
#: The most a Markdown report holds, in UTF-8 bytes: GitHub refuses a comment over 65,536
#: characters, and the comment workflow of docs/ci.md posts at most 60,000 bytes (a byte
#: count is what a shell step can check), so a cut report is still posted.
COMMENT_LIMIT = 60_000


@dataclass(frozen=True, slots=True)
class Side:
    """How sentences name one side of the comparison: ``noun`` is our words, ``{}`` where ``value`` goes.

    ``value`` (a path or revision the user gave) is escaped and quoted where it is
    put in; ``preposition`` joins the side to "does not compile".
    """

    noun: str
    value: str = ""
    preposition: str = "on the"

    def name(self, quote: Callable[[str], str]) -> str:
        """The side as a noun phrase: ``revision HEAD``, ``the working tree``, ``HEAD side (b.pipe)``.

        ``quote`` escapes the value (``shown``; ``code`` in Markdown).
        """
        return self.noun.format(quote(self.value))

    def where(self, quote: Callable[[str], str]) -> str:
        """The side after a verb: ``at revision HEAD``, ``in the working tree``, ``on the HEAD side (b.pipe)``."""
        return f"{self.preposition} {self.name(quote)}"


#: What ``hookpipe diff --git REF`` compares REF with: never called HEAD, which is git's name for a commit.
WORKING_TREE = Side("the working tree", preposition="in")


def revision_side(revision: str) -> Side:
    """A side read from git: named after the revision, so ``--git HEAD`` reads "revision HEAD"."""
    return Side("revision {}", revision, "at")


def file_sides(base: str, head: str) -> tuple[Side, Side]:
    """The sides of ``diff BASE HEAD``, named after the arguments they were given as."""
    return Side("BASE side ({})", base), Side("HEAD side ({})", head)


def render(fmt: str, diffs: Sequence[FileDiff], base: str, head: str,
           sides: tuple[Side, Side] | None = None) -> str:
    """The whole report in ``fmt`` ("text", "markdown" or "json").

    ``sides`` names the two sides in sentences (default: :func:`file_sides`).
    """
    if fmt == "json":
        return to_json(diffs, base, head)
    if fmt == "markdown":
        return to_markdown(diffs, base, head, sides)
    return to_text(diffs, base, head, sides)


# --- shared ------------------------------------------------------------------------------------


def shown(value: str | None, limit: int = MAX_VALUE) -> str:
    """A value from a file as it may be printed: escaped (``display_name``), long ones cut at the end."""
    if value is None:
        return "(none)"
    text = display_name(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_path(value: str | None, limit: int = MAX_VALUE) -> str:
    """A path or ``file:line`` as it may be printed: escaped, a long one cut in the middle.

    Paths in one project share their start (``services/training/configs/...``) and
    differ at the end, where the file's name and line are: those are kept.

    Example:
        >>> shown_path("a/" * 80 + "sweep_v3_b/train.pipe:12", 40)
        'a/a/a/a/a/…/a/a/sweep_v3_b/train.pipe:12'
    """
    if value is None:
        return "(none)"
    text = display_name(value)
    if len(text) <= limit:
        return text
    head = limit // 4
    return text[:head] + "…" + text[len(text) - (limit - head - 1):]


def shown_pair(base: str | None, head: str | None, limit: int = MAX_VALUE) -> tuple[str, str]:
    """Two sides of a changed value as they may be printed, the change visible in both.

    Each is escaped; when one is too long, both show the same stretch, from a
    little before their first difference, with ``…`` where they were cut: cut at
    the end alone, ``"runs/aaa…X"`` and ``"runs/aaa…Y"`` printed alike.
    """
    if base is None or head is None:
        return shown(base, limit), shown(head, limit)
    b, h = display_name(base), display_name(head)
    if len(b) <= limit and len(h) <= limit:
        return b, h
    start = max(0, _common_prefix(b, h) - limit // 3)
    return _window(b, start, limit), _window(h, start, limit)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _window(text: str, start: int, limit: int) -> str:
    """``text`` from ``start``, at most ``limit`` characters, ``…`` where cut."""
    prefix = "…" if start else ""
    body = text[start:]
    room = limit - len(prefix)
    return prefix + (body if len(body) <= room else body[: room - 1] + "…")


def explained(text: str, limit: int = MAX_SENTENCE) -> str:
    """A sentence of hookpipe's own, values from files in it: escaped, a long one cut at a word boundary.

    Cutting mid-word (``effect rule: metr…``) leaves a reviewer guessing what it said.

    Example:
        >>> explained("written order at a.pipe:3; effect rule: metrics (write < read)", 40)
        'written order at a.pipe:3; effect …'
    """
    escaped = display_name(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped.rfind(" ", 0, limit - 1)
    return escaped[: cut + 1 if cut > 0 else limit - 2] + "…"


def summary(diffs: Sequence[FileDiff]) -> str:
    counts = {s: sum(d.status == s for d in diffs) for s in ("changed", "added", "removed", "error", "unchanged")}
    renamed = sum(d.renamed_from is not None for d in diffs)
    n = len(diffs)
    if not n:
        return "no .pipe files to compare"
    if not any(d.plan_changed for d in diffs):
        return f"no change to the plan ({n} file{'s' if n != 1 else ''} compared{_renamed(renamed, ', ')})"
    parts = [f"{counts[s]} {label}" for s, label in (
        ("changed", "changed"), ("added", "added"), ("removed", "removed"), ("error", "failing to compile"),
        ("unchanged", f"unchanged{_renamed(renamed, ' (', ')')}")) if counts[s]]
    return f"{n} file{'s' if n != 1 else ''} compared: " + ", ".join(parts)


def _renamed(count: int, before: str, after: str = "") -> str:
    """``N renamed`` for the summary, between ``before`` and ``after``; nothing when none was."""
    return f"{before}{count} renamed{after}" if count else ""


def _named(sides: tuple[Side, Side], side: str) -> Side:
    """The :class:`Side` of a ``SideError.side`` ("base" or "head")."""
    return sides[0] if side == "base" else sides[1]


def _sentence(text: str) -> str:
    """``text`` starting with a capital, as the start of a sentence (our words come first in every side)."""
    return text[:1].upper() + text[1:]


def _status_line(d: FileDiff, sides: tuple[Side, Side], quote: Callable[[str], str] = shown_path) -> str:
    if d.status == "unchanged" and d.renamed_from is not None:
        return f"renamed from {quote(d.renamed_from)}, no change to the plan (plan {(d.head_hash or '')[:12]})"
    if d.status == "unchanged":
        return f"no change to the plan (plan {d.head_hash and d.head_hash[:12]})"
    if d.status == "error":
        where = " and ".join(_named(sides, e.side).where(quote) for e in d.errors)
        return f"does not compile {where}"
    if d.status == "added":
        return "added"
    if d.status == "removed":
        return "removed"
    return f"plan changed ({(d.base_hash or '')[:12]} -> {(d.head_hash or '')[:12]})"


def _change(c: ValueChange, quote: Callable[[str], str]) -> str:
    key = quote(shown(c.key))
    if c.base is None:
        return f"{key} = {quote(shown(c.head))} (new)"
    if c.head is None:
        return f"{key} = {quote(shown(c.base))} (gone)"
    base, head = shown_pair(c.base, c.head)
    return f"{key}: {quote(base)} {_arrow(quote)} {quote(head)}"


def _arrow(quote: Callable[[str], str]) -> str:
    return "->" if quote is str else "→"


def _finding(f: Finding) -> str:
    return f"{shown_path(f.where)}: {f.code} {f.severity}: {explained(f.message)}"


def _lint_head(d: FileDiff, sides: tuple[Side, Side], quote: Callable[[str], str]) -> str:
    """The lint summary, after ``lint:``: counts of findings introduced and fixed.

    A side that does not compile is not linted, so lint findings cannot be
    compared: its findings would all look fixed or all introduced. There the
    counts are of compile errors (``hookpipe.commands.diff`` compares only those),
    and the line says lint was not compared and why.
    """
    counts = f"{len(d.introduced)} introduced, {len(d.fixed)} fixed"
    if not d.errors:
        return counts
    failing = [_named(sides, e.side).name(quote) for e in d.errors]
    verb = "does" if len(failing) == 1 else "do"
    return f"not compared ({' and '.join(failing)} {verb} not compile); errors: {counts}"


def _itemised(d: FileDiff) -> bool:
    """Whether the findings introduced and fixed are listed one by one under the counts.

    When one side does not compile, they are exactly its errors, listed just above
    under that side: listing them again would only lengthen a pull-request comment.
    When both fail, they say which errors the change brought and which it removed.
    """
    return len(d.errors) != 1


def _hook(h: HookChange, quote: Callable[[str], str]) -> str:
    """One hook's change: a new or gone one as its declaration, a changed one as what changed."""
    where = f" ({quote(shown_path(h.where))})"
    effects = "; ".join(f"{c.key} {shown(c.head if h.status == 'added' else c.base)}" for c in h.effects
                        if h.status != "changed")
    if h.status == "changed":
        details = [_change(c, quote) for c in ([h.type] if h.type else []) + h.args + h.effects]
        return f"changed {quote(shown(h.name))}{where}: " + "; ".join(details)
    kind = (h.type.head if h.status == "added" else h.type.base) if h.type else "?"
    args = ", ".join(f"{c.key} = {shown(c.head if h.status == 'added' else c.base)}" for c in h.args)
    text = f"{h.status} {quote(shown(f'{h.name} = {kind}({args})'))}{where}"
    return text + (f", {effects}" if effects else "")


def _run_value(r: RunValueChange, quote: Callable[[str], str]) -> str:
    because = ", ".join(quote(b) for b in r.because)
    used = f"; read by {', '.join(quote(shown(u)) for u in r.used_by)}" if r.used_by else ""
    value = f"{r.base} {_arrow(quote)} {r.head}" if r.base != r.head else f"changes ({r.base})"
    return f"{quote(r.name)}: {value}, from {because}{used}"


def _bracket(c: BracketChange, quote: Callable[[str], str]) -> str:
    """What changed about the brackets an attachment runs in: ``inside with swap -> outside any bracket``."""
    parts = []
    if c.base_opens != c.head_opens:
        opened = quote(shown(f"with {c.hook} {{ }}"))
        parts.append(f"opens {opened} {_arrow(quote)} a plain attachment" if c.base_opens
                     else f"a plain attachment {_arrow(quote)} opens {opened}")
    if c.base != c.head:
        parts.append(f"{_inside(c.base, quote)} {_arrow(quote)} {_inside(c.head, quote)}")
    return "; ".join(parts)


def _inside(brackets: tuple[str, ...], quote: Callable[[str], str]) -> str:
    if not brackets:
        return "outside any bracket"
    return "inside " + ", ".join(quote(shown(f"with {b}")) for b in brackets)


def _bracket_effect(c: BracketChange, quote: Callable[[str], str]) -> str:
    """What the bracket change does, in a reviewer's words: which enter and exit it no longer runs between."""
    def hook(label: str) -> str:
        return quote(shown(label.partition("#")[0]))

    said = [f"no longer runs between {hook(b)}'s enter and exit" for b in c.left]
    said += [f"now runs between {hook(b)}'s enter and exit" for b in c.entered]
    if c.head_opens and not c.base_opens:
        said.append(f"now runs {hook(c.hook)}'s enter before what it brackets and its exit after")
    if c.base_opens and not c.head_opens:
        said.append(f"no longer brackets anything: runs {hook(c.hook)}'s callback for the phase")
    return "; ".join(said)


def _rewrite(r: Rewrite, quote: Callable[[str], str]) -> str:
    base, head = shown_pair(r.base, r.head)
    return f"{quote(base)} {_arrow(quote)} {quote(head)}"


# --- text --------------------------------------------------------------------------------------


def to_text(diffs: Sequence[FileDiff], base: str, head: str, sides: tuple[Side, Side] | None = None) -> str:
    named = sides or file_sides(base, head)
    lines = [f"hookpipe diff {shown_path(base)} -> {shown_path(head)}: {summary(diffs)}"]
    for d in diffs:
        lines.append("")
        lines.append(f"{shown_path(d.file)}: {_status_line(d, named)}")
        lines.extend("  " + line for line in _text_body(d, named))
    return "\n".join(lines) + "\n"


def _text_body(d: FileDiff, sides: tuple[Side, Side]) -> list[str]:
    out: list[str] = []
    for err in d.errors:
        out.append(f"errors {_named(sides, err.side).where(shown_path)}:")
        out.extend(f"  {_finding(f)}" for f in err.errors)
    if d.name is not None:
        out.append(_change(d.name, str))  # _change escapes every part
    for p in d.phases:
        if p.shown:
            out.append(f"{shown(p.key)}:")
            out.extend(_text_phase(p))
    if d.hooks:
        out.append("hooks:")
        out.extend(f"  {_hook(h, str)}" for h in d.hooks)
    if d.trainer:
        out.append("trainer:")
        out.extend(f"  {_change(c, str)}" for c in d.trainer)
    if d.run_values:
        out.append("run values:")
        out.extend(f"  {_run_value(r, str)}" for r in d.run_values)
    if d.introduced or d.fixed or d.errors:
        out.append(f"lint: {_lint_head(d, sides, shown_path)}")
        if _itemised(d):
            out.extend(f"  + {_finding(f)}" for f in d.introduced)
            out.extend(f"  - {_finding(f)}" for f in d.fixed)
    return out


def _text_phase(p: PhaseDiff) -> list[str]:
    """One phase's changes, a line each (and the lines that explain them, indented further)."""
    out = []
    for a in p.added:
        out.append(f"  added    {shown(a.hook)} at {a.position}{_when(a.when)}  ({shown_path(a.where)})")
    for a in p.removed:
        out.append(f"  removed  {shown(a.hook)} from {a.position}{_when(a.when)}  ({shown_path(a.where)})")
    for m in p.moved:
        out.append(f"  moved    {shown(m.hook)} {m.base_position} -> {m.head_position}  ({shown_path(m.where)})")
        out.extend("    " + line for line in _move_lines(m, str))
    for f in p.frequency:
        base, head = shown_pair(f.base, f.head)
        out.append(f"  timing   {shown(f.hook)}: {base} -> {head}  ({shown_path(f.where)})")
        out.append(f"           fires at {f.base_firings} -> {f.head_firings}")
    for c in p.brackets:
        out.append(f"  bracket  {shown(c.hook)}: {_bracket(c, str)}  ({shown_path(c.where)})")
        out.append(f"           {_bracket_effect(c, str)}")
    for r in p.rewritten:
        out.append(f"  rewrite  {shown(r.hook)}: {_rewrite(r, str)}  ({shown_path(r.where)})")
        out.append(f"           {explained(r.why)}")
    if p.moved:
        out.append(f"  order was: {' -> '.join(map(shown, p.base_order))}")
        out.append(f"  order now: {' -> '.join(map(shown, p.head_order))}")
    return out


def _when(when: str) -> str:
    return f" ({shown(when)})" if when else ""


def _move_lines(m: Move, quote: Callable[[str], str]) -> list[str]:
    out = []
    for flip in m.flips:
        was = "after" if flip.now == "before" else "before"
        out.append(f"now {flip.now} {quote(shown(flip.other))}, which it ran {was}:")
        out.extend(f"  HEAD: {explained(r)}" for r in flip.head_reasons)
        out.extend(f"  BASE: {explained(r)}" for r in flip.base_reasons)
    if m.more_flips:
        out.append(f"and {m.more_flips} more attachments it changed places with")
    return out


# --- markdown ----------------------------------------------------------------------------------


def code(value: str | None, limit: int = MAX_VALUE) -> str:
    """``value`` (escaped, cut) as a Markdown code span that nothing inside can close."""
    return _fenced(shown(value, limit))


def code_path(value: str | None) -> str:
    """A path or ``file:line`` (escaped, cut in the middle: :func:`shown_path`) as a Markdown code span."""
    return _fenced(shown_path(value))


def _fenced(text: str) -> str:
    """Escaped ``text`` in a code span fenced by more backticks than it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def to_markdown(diffs: Sequence[FileDiff], base: str, head: str, sides: tuple[Side, Side] | None = None) -> str:
    named = sides or file_sides(base, head)
    lines = [MARKER, f"### hookpipe diff: {summary(diffs)}", "",
             f"Plans of {code_path(base)} compared with {code_path(head)}: what the training loop will do "
             "differently.", ""]
    unchanged = [d for d in diffs if d.status == "unchanged"]
    for d in diffs:
        if d.status == "unchanged":
            continue
        lines.append(f"#### {code_path(d.file)}: {_status_line(d, named, code_path)}")
        lines.append("")
        lines.extend(_markdown_body(d, named))
    if unchanged:
        names = [f"- {code_path(d.file)}{_renamed_from(d)}" for d in unchanged]
        lines.append(f"**No change to the plan** ({len(unchanged)} file{'s' if len(unchanged) != 1 else ''}):")
        lines.append("")
        lines.extend(_fold(names, "unchanged files"))
        lines.append("")
    return _within_limit("\n".join(lines).rstrip("\n") + "\n")


def _renamed_from(d: FileDiff) -> str:
    return f" (renamed from {code_path(d.renamed_from)})" if d.renamed_from is not None else ""


def _within_limit(text: str, limit: int = COMMENT_LIMIT) -> str:
    """``text``, or its first whole lines and a note, in at most ``limit`` bytes of UTF-8.

    A pull request may change hundreds of files; a comment over GitHub's limit is
    refused and the reviewers see nothing. Blocks cut open are closed.
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    reserve = 400  # the note and the closing tags
    kept = data[: limit - reserve].decode("utf-8", errors="ignore").rsplit("\n", 1)[0]
    lines = kept.split("\n")  # _fold's tags are whole lines; a value's text sits inside a code span
    opened = sum(line.startswith("<details><summary>") for line in lines) - lines.count("</details>")
    note = (f"\n\n**{len(text) - len(kept):,} more characters not shown:** a comment holds at most "
            f"{limit:,} bytes here; run `hookpipe diff` for the whole report.\n")
    return kept + "\n\n</details>" * opened + note


def _fold(items: list[str], what: str) -> list[str]:
    """A list as is, or its first items and the rest in a ``<details>`` block."""
    if len(items) <= FOLD_AFTER:
        return items
    keep = items[: FOLD_AFTER - 1]
    rest = items[FOLD_AFTER - 1:]
    return [*keep, "", f"<details><summary>{len(rest)} more {what}</summary>", "", *rest, "", "</details>"]


def _markdown_body(d: FileDiff, sides: tuple[Side, Side]) -> list[str]:
    out: list[str] = []
    for err in d.errors:
        out.append(f"**{_sentence(_named(sides, err.side).name(code_path))} does not compile:**")
        out.append("")
        out.extend(_fold([f"- {code(_finding(f), 6 * MAX_VALUE)}" for f in err.errors], "errors"))
        out.append("")
    if d.name is not None:
        out.extend([f"- {_change(d.name, code)}", ""])
    for p in d.phases:
        if p.shown:
            out.extend(_markdown_phase(p))
    if d.hooks:
        out.append("**Hooks**")
        out.append("")
        out.extend(_fold([f"- {_hook(h, code)}" for h in d.hooks], "hooks"))
        out.append("")
    if d.trainer:
        out.append("**Trainer**")
        out.append("")
        out.extend(_fold([f"- {_change(c, code)}" for c in d.trainer], "settings"))
        out.append("")
    if d.run_values:
        out.append("**Run values**")
        out.append("")
        out.extend(f"- {_run_value(r, code)}" for r in d.run_values)
        out.append("")
    if d.introduced or d.fixed or d.errors:
        out.append(f"**Lint**: {_lint_head(d, sides, code_path)}")
        out.append("")
        if _itemised(d) and (d.introduced or d.fixed):
            items = [f"- introduced {code(_finding(f), 6 * MAX_VALUE)}" for f in d.introduced]
            items += [f"- fixed {code(_finding(f), 6 * MAX_VALUE)}" for f in d.fixed]
            out.extend(_fold(items, "findings"))
            out.append("")
    return out


def _markdown_phase(p: PhaseDiff) -> list[str]:
    out = [f"**{code(p.key)}**", ""]
    items: list[str] = []
    for a in p.added:
        when = f", {code(a.when)}" if a.when else ""
        items.append(f"- added {code(a.hook)} at position {a.position}{when} ({code_path(a.where)})")
    for a in p.removed:
        when = f", {code(a.when)}" if a.when else ""
        items.append(f"- removed {code(a.hook)} from position {a.position}{when} ({code_path(a.where)})")
    for m in p.moved:
        items.extend(_markdown_move(m))
    for f in p.frequency:
        base, head = shown_pair(f.base, f.head)
        items.append(f"- timing of {code(f.hook)}: {code(base)} → {code(head)} ({code_path(f.where)})")
        items.append(f"  - fires at {f.base_firings} → {f.head_firings}")
    for c in p.brackets:
        items.append(f"- bracket of {code(c.hook)}: {_bracket(c, code)} ({code_path(c.where)})")
        items.append(f"  - {_bracket_effect(c, code)}")
    for r in p.rewritten:
        items.append(f"- rewritten {code(r.hook)}: {_rewrite(r, code)} ({code_path(r.where)})")
        items.append(f"  - {code(explained(r.why), MAX_SENTENCE)}")
    out.extend(_fold_items(items, "changes in this phase"))
    if p.moved:
        out.append("")
        out.append(f"Order was {' → '.join(code(h) for h in p.base_order)}  ")
        out.append(f"Order now {' → '.join(code(h) for h in p.head_order)}")
    out.append("")
    return out


def _markdown_move(m: Move) -> list[str]:
    """A moved attachment and, per attachment it changed places with, the edges that put it there."""
    items = [f"- moved {code(m.hook)} {m.base_position} → {m.head_position} ({code_path(m.where)})"]
    for flip in m.flips:
        items.append(f"  - now {flip.now} {code(flip.other)}")
        items.extend(f"    - HEAD: {code(explained(r), MAX_SENTENCE)}" for r in flip.head_reasons)
        items.extend(f"    - BASE: {code(explained(r), MAX_SENTENCE)}" for r in flip.base_reasons)
    if m.more_flips:
        items.append(f"  - and {m.more_flips} more attachments it changed places with")
    return items


def _fold_items(items: list[str], what: str) -> list[str]:
    """Like :func:`_fold`, counting top-level items only (their sub-items stay with them)."""
    tops = [i for i, line in enumerate(items) if line.startswith("- ")]
    if len(tops) <= FOLD_AFTER:
        return items
    cut = tops[FOLD_AFTER - 1]
    rest = len(tops) - FOLD_AFTER + 1
    return [*items[:cut], "", f"<details><summary>{rest} more {what}</summary>", "", *items[cut:], "",
            "</details>"]


# --- json --------------------------------------------------------------------------------------


def to_json(diffs: Sequence[FileDiff], base: str, head: str) -> str:
    from hookpipe import __version__

    counts = {s: sum(d.status == s for d in diffs) for s in ("changed", "added", "removed", "error", "unchanged")}
    document = {
        "version": JSON_VERSION,
        "tool": {"name": "hookpipe", "version": __version__},
        "base": base,
        "head": head,
        "changed": any(d.plan_changed for d in diffs),
        "files": [d.to_json() for d in diffs],
        "summary": {"files": len(diffs), **counts, "renamed": sum(d.renamed_from is not None for d in diffs)},
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
