"""Positions and paths between hookpipe and the protocol.

hookpipe spans are 1-based lines and columns with an exclusive end column, on
the path the compiler was given; the protocol counts from 0 and names files by
URI. The server compiles with absolute paths, so a span's file is a path that
maps back to a URI without guessing. Columns are counted in characters (code
points), as the parser counts them; the protocol's default unit, UTF-16, differs
only past the Basic Multilingual Plane (an emoji in a comment), which the server
does not convert.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from hookpipe.dsl.span import Span


@lru_cache(maxsize=4096)
def uri_of(path: str) -> str:
    return from_fs_path(os.path.abspath(path)) or path


def path_of(uri: str) -> Path | None:
    """The file a ``file:`` URI names; None for other schemes (an untitled buffer)."""
    fs = to_fs_path(uri)
    return Path(fs).resolve() if fs else None


def span_range(span: Span) -> types.Range:
    """A span as a protocol range."""
    return types.Range(start=types.Position(line=max(span.line - 1, 0), character=max(span.column - 1, 0)),
                       end=types.Position(line=max(span.end_line - 1, 0), character=max(span.end_column - 1, 0)))


def contains(span: Span, line: int, column: int) -> bool:
    """Whether the 1-based ``(line, column)`` is in ``span``; its end counts (a cursor right after a word)."""
    if not (span.line <= line <= span.end_line):
        return False
    if line == span.line and column < span.column:
        return False
    return not (line == span.end_line and column > span.end_column)


def word_span(file: str, line: int, column: int, word: str) -> Span:
    return Span(file, line, column, line, column + len(word))
