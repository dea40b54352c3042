"""Text -> typed AST, collecting every syntax error it can find.

When the whole file parses (the common case) that is one LALR pass. When it does
not, each top-level item is re-parsed on its own so one mistake does not hide the
next, and errors inside one item do not cascade into the following ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl import ast
from hookpipe.dsl.grammar import parse as parse_source
from hookpipe.dsl.problems import SyntaxProblem
from hookpipe.dsl.span import Span
from hookpipe.dsl.syntax_errors import to_diagnostic
from hookpipe.perf import gc_paused

MAX_SYNTAX_ERRORS = 50
#: Limits that keep hostile input cheap; real pipelines are a few kilobytes.
MAX_SOURCE_CHARS = 4 * 1024 * 1024
MAX_LINE_CHARS = 100_000
#: Strings, comments, brackets and newlines, for the comments and the error recovery's
#: split. A string ends at its closing quote or, never closed, at the end of its line:
#: matched once either way, so a line of quotes costs one pass (never one per quote).
_SCAN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"?|#[^\n]*|[{}()\[\]]|\n')
_LINE_START = re.compile(r"[ \t\r]*(.?)")


@dataclass
class ParseResult:
    file: ast.File | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def parse_text(text: str, path: str) -> ParseResult:
    """Parse one file's text. ``file`` is None when there were syntax errors.

    Example:
        >>> parse_text('hook a = optimizer()', "x.pipe").file.items[0].name
        'a'
    """
    too_big = _check_size(text, path)
    if too_big is not None:
        return ParseResult(None, [too_big])
    try:
        with gc_paused():
            items = parse_source(text, path)
    except SyntaxProblem:
        return ParseResult(None, _collect_errors(text, path))
    return ParseResult(ast.File(path, tuple(items), _comments(text, path) if "#" in text else ()))


def _check_size(text: str, path: str) -> Diagnostic | None:
    if len(text) > MAX_SOURCE_CHARS:
        return Diagnostic("HP001", "error", f"the file is too large ({len(text) / 2**20:.1f} MiB; the limit is "
                          f"{MAX_SOURCE_CHARS // 2**20} MiB)", Span(path, 1, 1, 1, 2),
                          help="split it into files joined with `include`")
    if len(text) > MAX_LINE_CHARS and max(map(len, text.split("\n"))) > MAX_LINE_CHARS:  # the loop only to name it
        for number, line in enumerate(text.split("\n"), 1):
            if len(line) > MAX_LINE_CHARS:
                return Diagnostic("HP001", "error", f"line {number} is {len(line):,} characters long (the limit is "
                                  f"{MAX_LINE_CHARS:,})", Span(path, number, 1, number, 2),
                                  help="break the line; values may span several lines inside brackets")
    return None


def _comments(text: str, path: str) -> tuple[ast.Comment, ...]:
    """Comments with their positions, for the formatter (the parser ignores them)."""
    found: list[ast.Comment] = []
    line, line_start = 1, 0
    for m in _SCAN.finditer(text):
        tok = m.group()
        if tok == "\n":
            line, line_start = line + 1, m.end()
        elif tok.startswith("#"):
            column = m.start() - line_start + 1
            found.append(ast.Comment(tok, Span(path, line, column, line, column + len(tok))))
    return tuple(found)


def _chunks(text: str) -> tuple[list[tuple[int, int, int]], Span | None]:
    """Top-level items as (start offset, end offset, first line), plus the innermost unclosed bracket."""
    chunks: list[tuple[int, int, int]] = []
    stack: list[tuple[int, int]] = []  # (line, column) of open brackets
    line, line_start, start, start_line = 1, 0, 0, 1
    for m in _SCAN.finditer(text):
        tok = m.group()
        if tok == "\n":
            line += 1
            line_start = m.end()
            first = _LINE_START.match(text, line_start).group(1)  # type: ignore[union-attr]
            if not stack and first not in ("", "\n", "#", "}", "-"):
                if m.end() > start:
                    chunks.append((start, m.end(), start_line))
                start, start_line = m.end(), line
        elif tok in "{([":
            stack.append((line, m.start() - line_start + 1))
        elif tok in "})]":
            if stack:
                stack.pop()
    chunks.append((start, len(text), start_line))
    unclosed = None
    if stack:
        first_line, first_col = stack[-1]
        unclosed = Span("", first_line, first_col, first_line, first_col + 1)
    return chunks, unclosed


def _collect_errors(text: str, path: str) -> list[Diagnostic]:
    chunks, unclosed = _chunks(text)
    if unclosed is not None:
        unclosed = Span(path, unclosed.line, unclosed.column, unclosed.end_line, unclosed.end_column)
    found: list[Diagnostic] = []
    for begin, end, first_line in chunks:
        piece = "\n" * (first_line - 1) + text[begin:end]
        try:
            parse_source(piece, path)
        except SyntaxProblem as error:
            found.append(to_diagnostic(error, path, text, _example_parse, unclosed))
            if len(found) >= MAX_SYNTAX_ERRORS:
                break
    if not found:  # the pieces parse alone but not together; report the whole-file error
        try:
            parse_source(text, path)
        except SyntaxProblem as error:
            found.append(to_diagnostic(error, path, text, _example_parse, unclosed))
    return found


def _example_parse(text: str) -> object:
    return parse_source(text, "<example>")
