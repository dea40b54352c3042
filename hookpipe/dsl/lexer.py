"""A fast lexer for the .pipe grammar, with the layout rules folded in.

One compiled regex over the whole text, and plain slotted tokens, cost a fraction
of a generic lexer's per-token bookkeeping. Its patterns, keywords and symbols
come from ``grammars/pipe.lark`` (:class:`~hookpipe.dsl.terminals.Terminals`), so
it emits exactly the terminals the grammar defines (a test compares it with lark's
own lexer). It applies the newline rules in the same loop: newlines inside
``()``, ``[]`` and value tables, right after ``->``, and repeated ones carry no
meaning and are dropped. That keeps the grammar LALR(1) without allowing newlines
everywhere.
"""

from __future__ import annotations

import re
from typing import Iterator

from hookpipe.dsl.problems import BadCharacter, NestingTooDeep
from hookpipe.dsl.terminals import Terminals
from hookpipe.dsl.tokens import Tok

__all__ = ["MAX_DEPTH", "Lexer", "Tok"]

#: Regex terminals in the order they are tried (a float before the int it starts with).
_ORDER = ("WS", "COMMENT", "STRING", "FLOAT", "INT", "NAME")
#: Brackets that open a region where newlines mean nothing, and what closes them.
_CLOSE = {"LPAR": "RPAR", "LSQB": "RSQB"}
#: A ``{`` after one of these opens a value table, not a block.
_VALUE_CONTEXT = frozenset({"EQUAL", "COMMA", "LPAR", "LSQB"})
#: Deeper nesting is refused: no real pipeline comes close, and later passes recurse.
MAX_DEPTH = 100


class Lexer:
    """The token stream of the grammar's terminals (built once per process, see ``grammar``)."""

    def __init__(self, terminals: Terminals) -> None:
        symbols = terminals.punctuation
        arrow = [s for s in symbols if len(s) > 1]
        single = "".join(re.escape(s) for s in symbols if len(s) == 1)
        groups = [f"(?P<{name}>{terminals.patterns[name]})" for name in _ORDER]
        # Newlines are a layout rule here (``\r`` is whitespace), not the grammar's _NL pattern.
        groups.insert(2, r"(?P<_NL>\n+)")
        groups += [f"(?P<LONG>{'|'.join(re.escape(s) for s in arrow)})", f"(?P<PUNCT>[{single}])"]
        self._match = re.compile("|".join(groups)).match
        self.keywords = terminals.keywords
        self.symbols = symbols

    def tokens(self, text: str) -> Iterator[Tok]:
        """The significant tokens of ``text``; raises BadCharacter or NestingTooDeep."""
        match, keywords, symbols = self._match, self.keywords, self.symbols
        stack: list[str] = []  # what closes each open bracket; "BLOCK" for blocks
        previous = None
        line, line_start, pos, end = 1, 0, 0, len(text)
        while pos < end:
            m = match(text, pos)
            if m is None:
                raise BadCharacter(line, pos - line_start + 1, text[pos])
            kind: str = m.lastgroup  # type: ignore[assignment]  # every alternative is a named group
            value = m.group()
            start, pos = pos, m.end()
            if kind == "WS" or kind == "COMMENT":
                continue
            column = start - line_start + 1
            if kind == "_NL":
                drop = previous in (None, "_NL", "_ARROW") or (stack and stack[-1] != "BLOCK")
                if not drop:
                    yield Tok("_NL", value, line, column, column + 1)
                    previous = "_NL"
                line += len(value)
                line_start = pos
                continue
            if kind == "NAME":
                kind = keywords.get(value, "NAME")
            elif kind == "PUNCT":
                kind = symbols[value]
                if kind in _CLOSE:
                    stack.append(_CLOSE[kind])
                elif kind == "LBRACE":
                    stack.append("RBRACE" if previous in _VALUE_CONTEXT else "BLOCK")
                elif stack and kind in ("RPAR", "RSQB", "RBRACE"):
                    top = stack[-1]
                    if top == kind or (kind == "RBRACE" and top == "BLOCK"):
                        stack.pop()
                if len(stack) > MAX_DEPTH:
                    raise NestingTooDeep(line, column, MAX_DEPTH)
            elif kind == "LONG":
                kind = symbols[value]
            previous = kind
            yield Tok(kind, value, line, column, column + len(value))
