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


def source_lines(text: str) -> list[str]:
    """The lines of a source text, split at ``"\\n"`` alone: hookpipe's one line model.

    The parser counts lines this way (lark counts ``"\\n"``), so excerpts, fixes and
    the language server must too: ``str.splitlines`` also splits at ``"\\f"``,
    ``"\\v"``, ``"\\x1c"``-``"\\x1e"``, ``"\\x85"``, U+2028 and U+2029, and after one of
    those in a comment or a string every line it quoted would be the wrong one.
    A text ending in ``"\\n"`` has an empty last line, as an editor shows it.

    Example:
        >>> source_lines("a # \\u2028 b\\nc\\n")
        ['a # \\u2028 b', 'c', '']
    """
    return text.split("\n")
