"""Source positions, carried by every AST node, graph edge and plan entry."""

from __future__ import annotations

from typing import Any, NamedTuple


class Span(NamedTuple):
    """A 1-based, end-inclusive-line / end-exclusive-column region of a file.

    The file is kept as the path the user gave (or the include resolved to), so
    diagnostics print a path the user recognises. A named tuple rather than a
    frozen dataclass: the parser makes one per token and node, and a tuple is
    built at a third of the cost, immutable and hashable all the same.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Span":
        return cls(
            file=str(data["file"]),
            line=int(data["line"]),
            column=int(data["column"]),
            end_line=int(data["end_line"]),
            end_column=int(data["end_column"]),
        )


def source_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of a source text, split at ``"\\n"`` alone: hookpipe's one line model.

    The parser counts lines this way (lark counts ``"\\n"``), so excerpts, fixes and
    the language server must too: ``str.splitlines`` also splits at ``"\\f"``,
    ``"\\v"``, ``"\\x1c"``-``"\\x1e"``, ``"\\x85"``, U+2028 and U+2029, and after one of
    those in a comment or a string every line it quoted would be the wrong one.
    A text ending in ``"\\n"`` has an empty last line, as an editor shows it;
    with ``keepends`` each line keeps its ``"\\n"`` and that empty line is left out
    (as ``difflib`` wants its input).

    Example:
        >>> source_lines("a # \\u2028 b\\nc\\n")
        ['a # \\u2028 b', 'c', '']
        >>> source_lines("a # \\u2028 b\\nc\\n", keepends=True)
        ['a # \\u2028 b\\n', 'c\\n']
    """
    lines = text.split("\n")
    if not keepends:
        return lines
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def offset_at(text: str, line: int, column: int) -> int:
    """The offset in ``text`` of 1-based ``line`` and ``column`` (code points), in hookpipe's line model.

    A column past the end of its line stands for the line's end, a line past the
    last for the end of the text (what the language server protocol asks of a
    position beyond the text).

    Example:
        >>> text = "a # \\u2028 b\\nhook c"
        >>> text[offset_at(text, 2, 6):]
        'c'
    """
    start = 0
    for _ in range(max(line, 1) - 1):
        newline = text.find("\n", start)
        if newline < 0:
            return len(text)
        start = newline + 1
    end = text.find("\n", start)
    return min(start + max(column, 1) - 1, len(text) if end < 0 else end)
