"""Positions and paths between hookpipe and the protocol.

hookpipe spans are 1-based lines and columns with an exclusive end column, on
the path the compiler was given; the protocol counts from 0 and names files by
URI. The server compiles with absolute paths, so a span's file is a path that
maps back to a URI without guessing.

Columns: hookpipe counts characters (code points); the protocol counts in the
position encoding the server announced in its ``initialize`` answer: UTF-16 by
default, UTF-8 (or UTF-32) when the client offers it first (pygls negotiates).
Every column that goes out (``span_range``) or comes in (``from_client``) is
converted with the line's text, so an emoji before a suppression fix is two
UTF-16 units or four UTF-8 bytes, as announced, and no edit splits a surrogate pair.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from hookpipe.diagnostics import Sources
from hookpipe.dsl.span import Span


@dataclass
class Columns:
    """Code-point columns to and from the client's position encoding, by each line's text."""

    #: "utf-8", "utf-16" or "utf-32": what the server announced (set on ``initialize``).
    encoding: str = "utf-16"
    #: The text of every file the latest compilations read, by the name spans carry.
    sources: Sources = field(default_factory=Sources)

    def units(self, text: str) -> int:
        """How many of the client's units ``text`` takes."""
        if text.isascii() or self.encoding == "utf-32":
            return len(text)
        if self.encoding == "utf-8":
            return len(text.encode("utf-8", "surrogatepass"))
        return len(text.encode("utf-16-le", "surrogatepass")) // 2

    def to_client(self, file: str, line: int, column: int) -> int:
        """The 0-based client character of hookpipe's 1-based ``column`` on ``line`` of ``file``."""
        text = self.sources.line(file, line)
        if text is None:
            return max(column - 1, 0)
        return self.units(text[: max(column - 1, 0)]) + max(column - 1 - len(text), 0)

    def from_client(self, text: str | None, character: int) -> int:
        """hookpipe's 1-based column of the client's 0-based ``character`` on a line reading ``text``."""
        if text is None or text.isascii() or self.encoding == "utf-32":
            return character + 1
        used = 0
        for index, ch in enumerate(text):
            if used >= character:
                return index + 1
            used += self.units(ch)
        return len(text) + 1 + max(character - used, 0)


#: The server's conversion (one server per process).
COLUMNS = Columns()


@lru_cache(maxsize=4096)
def uri_of(path: str) -> str:
    return from_fs_path(os.path.abspath(path)) or path


def path_of(uri: str) -> Path | None:
    """The file a ``file:`` URI names; None for other schemes (an untitled buffer).

    A path that cannot be resolved (a symlink loop) stands for itself: that one
    document then reports why it cannot be read, and no other document is affected.
    """
    fs = to_fs_path(uri)
    if not fs:
        return None
    try:
        return Path(fs).resolve()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop before Python 3.13
        return Path(os.path.abspath(fs))


def span_range(span: Span) -> types.Range:
    """A span as a protocol range, its columns in the announced position encoding."""
    return types.Range(
        start=types.Position(line=max(span.line - 1, 0), character=COLUMNS.to_client(span.file, span.line,
                                                                                     span.column)),
        end=types.Position(line=max(span.end_line - 1, 0), character=COLUMNS.to_client(span.file, span.end_line,
                                                                                       span.end_column)))


def contains(span: Span, line: int, column: int) -> bool:
    """Whether the 1-based ``(line, column)`` is in ``span``; its end counts (a cursor right after a word)."""
    if not (span.line <= line <= span.end_line):
        return False
    if line == span.line and column < span.column:
        return False
    return not (line == span.end_line and column > span.end_column)


def word_span(file: str, line: int, column: int, word: str) -> Span:
    return Span(file, line, column, line, column + len(word))
