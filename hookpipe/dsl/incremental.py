"""Re-parsing only what changed: an editor's path to the parser.

An editor re-checks a file on every keystroke, and a keystroke changes one
top-level item. ``ParseCache.parse`` splits the text into top-level items (the
same split the parser uses to recover from syntax errors), parses each one on
its own and remembers it by its text and first line, so the next call re-parses
only the items whose text or position changed. Items are separated by newlines
at bracket depth zero, so parsing them one by one gives exactly the items of one
whole-file parse; any item that does not parse alone sends the whole text to
``parse_text``, whose syntax errors are the ones the command line reports.
"""

from __future__ import annotations

from collections import OrderedDict

from hookpipe.dsl import ast
from hookpipe.dsl.grammar import parse as parse_source
from hookpipe.dsl.parser import ParseResult, _check_size, _chunks, _comments, parse_text
from hookpipe.dsl.problems import SyntaxProblem
from hookpipe.perf import gc_paused

#: Parsed items kept, across files: a few thousand lines' worth.
DEFAULT_CAPACITY = 4096


class ParseCache:
    """Parsed top-level items by (file, first line, text), least recently used dropped first.

    Example:
        >>> cache = ParseCache()
        >>> first = cache.parse("hook a = optimizer()\\nhook b = optimizer()\\n", "x.pipe")
        >>> again = cache.parse("hook a = optimizer()\\nhook b = grad_clip(max_norm = 1.0)\\n", "x.pipe")
        >>> first.file.items[0] is again.file.items[0], cache.misses
        (True, 3)
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.items: OrderedDict[tuple[str, int, str], tuple[ast.Item, ...]] = OrderedDict()
        self.misses = 0

    def parse(self, text: str, path: str) -> ParseResult:
        """What ``parse_text(text, path)`` returns, re-parsing only items not seen before."""
        if _check_size(text, path) is not None:
            return parse_text(text, path)
        chunks, unclosed = _chunks(text)
        if unclosed is not None:
            return parse_text(text, path)
        items: list[ast.Item] = []
        with gc_paused():
            for begin, end, first_line in chunks:
                piece = text[begin:end]
                key = (path, first_line, piece)
                found = self.items.get(key)
                if found is None:
                    self.misses += 1
                    try:
                        found = tuple(parse_source("\n" * (first_line - 1) + piece, path))
                    except SyntaxProblem:
                        return parse_text(text, path)
                    self.items[key] = found
                    if len(self.items) > self.capacity:
                        self.items.popitem(last=False)
                else:
                    self.items.move_to_end(key)
                items.extend(found)
        return ParseResult(ast.File(path, tuple(items), _comments(text, path) if "#" in text else ()))
