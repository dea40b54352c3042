"""Diagnostics: collected by every pass, printed like a good compiler's.

Passes append to a list and keep going; only the API boundary turns a list that
holds errors into one exception (``CompileError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

from hookpipe.escaping import escape
from hookpipe.span import Span, source_lines

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Note:
    """A secondary location that explains a diagnostic (the other end of a cycle...)."""

    message: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Remedy:
    """An edit the compiler tried on its graph and saw clear the diagnostic: what an editor offers as a quick fix.

    The help line says it in words; this says it in spans, so the language server
    need not read the words back. ``kind`` is ``"move_before"``/``"move_after"`` (the
    attachment at ``span`` goes right before or after the one at ``anchor``, in its
    block) or ``"remove"`` (the statement at ``span``).
    """

    title: str
    kind: Literal["move_before", "move_after", "remove"]
    span: Span
    anchor: Span | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    notes: tuple[Note, ...] = ()
    help: str | None = None
    remedies: tuple[Remedy, ...] = ()

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.file, self.span.line, self.span.column, self.code, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": escape(self.message),
            "file": escape(self.span.file),
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "notes": [
                {"message": escape(n.message), **({"span": _span_json(n.span)} if n.span else {})}
                for n in self.notes
            ],
            "help": None if self.help is None else escape(self.help),
        }


def _span_json(span: Span) -> dict[str, object]:
    return {**span.to_json(), "file": escape(span.file)}


def where(span: Span) -> str:
    """``file:line:col`` with the file name escaped (it is the user's choice)."""
    return f"{escape(span.file)}:{span.line}:{span.column}"


#: A quoted source line is cut to this many characters around the caret: a hostile
#: file's 100,000-character line (or a secret on it) is never echoed whole.
EXCERPT_CHARS = 160


@dataclass
class Sources:
    """The text of every file read, so diagnostics can quote source lines.

    Lines are counted at ``"\\n"`` alone, as the parser counts them (:func:`hookpipe.span.source_lines`).
    """

    texts: dict[str, str] = field(default_factory=dict)
    #: file -> (the text split, the lines): split once per file, not once per diagnostic.
    _lines: dict[str, tuple[str, list[str]]] = field(default_factory=dict, repr=False, compare=False)

    def line(self, file: str, line: int) -> str | None:
        text = self.texts.get(file)
        if text is None:
            return None
        cached = self._lines.get(file)
        if cached is None or cached[0] is not text:
            cached = (text, source_lines(text))
            self._lines[file] = cached
        lines = cached[1]
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return None


def has_errors(diagnostics: Sequence[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def sort_diagnostics(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Sorted by (file, line, column, code), duplicates removed."""
    seen: set[tuple[object, ...]] = set()
    out: list[Diagnostic] = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


#: Diagnostics of one code shown per file (:func:`cap_per_file`): real files have a handful, a
#: generated one can have 100,000 (one line each would be tens of megabytes of CI log).
MAX_PER_FILE = 200


def cap_per_file(diagnostics: Sequence[Diagnostic], limit: int = MAX_PER_FILE) -> list[Diagnostic]:
    """The first ``limit`` diagnostics of each code in each file, in the order given, and one more counting the rest.

    The count sits at the first one left out and is an error if any of them is,
    so the exit status does not change; lists within the limit come back as given.

    Example:
        >>> d = Diagnostic("HP101", "warning", "slow", Span("a.pipe", 1, 1, 1, 2))
        >>> [x.message for x in cap_per_file([d, d, d], limit=2)]
        ['slow', 'slow', '1 more HP101 diagnostic in this file is not shown (the first of them is here)']
    """
    shown: dict[tuple[str, str], int] = {}
    left: dict[tuple[str, str], tuple[Diagnostic, int, Severity]] = {}  # -> (the first left out, how many, worst)
    out: list[Diagnostic] = []
    for d in diagnostics:
        key = (d.span.file, d.code)
        if shown.get(key, 0) < limit:
            shown[key] = shown.get(key, 0) + 1
            out.append(d)
            continue
        first, n, worst = left.get(key, (d, 0, d.severity))
        left[key] = (first, n + 1, "error" if "error" in (worst, d.severity) else "warning")
    for (_, code), (first, n, worst) in left.items():
        out.append(Diagnostic(
            code, worst, f"{n:,} more {code} diagnostic{'s' if n != 1 else ''} in this file "
            f"{'are' if n != 1 else 'is'} not shown (the first of them is here)", first.span,
            help=f"at most {limit} of one code are shown per file: fix these and run again"))
    return out


def _excerpt(sources: Sources, span: Span, gutter: int, label: str = "") -> list[str]:
    src = sources.line(span.file, span.line)
    if src is None:
        return []
    column = span.column
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    if len(src) > EXCERPT_CHARS:
        start = max(0, min(column - 1 - EXCERPT_CHARS // 3, len(src) - EXCERPT_CHARS))
        head = "..." if start else ""
        tail = "..." if start + EXCERPT_CHARS < len(src) else ""
        src = head + src[start:start + EXCERPT_CHARS] + tail
        column = column - start + len(head)
        width = max(1, min(width, len(src) - column + 1))
    # Escaped like every other value (a bidi control or ESC in a comment must not act
    # on the terminal); the caret moves with the escapes so it still points at the span.
    before, marked, after = src[: column - 1], src[column - 1: column - 1 + width], src[column - 1 + width:]
    shown_before, shown_marked = escape(before, keep_tabs=True), escape(marked, keep_tabs=True)
    src = shown_before + shown_marked + escape(after, keep_tabs=True)
    column, width = len(shown_before) + 1, max(1, len(shown_marked))
    src = src.expandtabs(4) if "\t" not in src[: column] else src
    pad = " " * gutter
    caret = " " * (column - 1) + "^" * max(width, 1)
    return [f"{pad} |", f"{span.line:>{gutter}} | {src}", f"{pad} | {caret}{(' ' + label) if label else ''}"]


def format_diagnostic(d: Diagnostic, sources: Sources) -> str:
    """``file:line:col: CODE severity: message``, the line with a caret, notes, help."""
    lines = [f"{where(d.span)}: {d.code} {d.severity}: {escape(d.message)}"]
    spans = [d.span] + [n.span for n in d.notes if n.span]
    gutter = max(len(str(s.line)) for s in spans)
    lines += _excerpt(sources, d.span, gutter)
    for note in d.notes:
        if note.span is None:
            lines.append(f"{' ' * gutter} = note: {escape(note.message)}")
            continue
        lines.append(f"{' ' * gutter} = note: {where(note.span)}: {escape(note.message)}")
        lines += _excerpt(sources, note.span, gutter)
    if d.help:
        lines.append(f"{' ' * gutter} = help: {escape(d.help)}")
    return "\n".join(lines)
