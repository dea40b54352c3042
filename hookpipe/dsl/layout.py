"""The layout rules, as a lark post-lexer: which newlines are separators.

Items in a block end at a newline, so the grammar has a newline terminal
(``_NL``). Allowing it everywhere a value may be broken over lines would make the
grammar ambiguous for LALR(1); instead this post-lexer (lark's ``postlex=``, the
way ``lark.indenter`` handles Python's indentation) drops the newlines that carry
no meaning before the parser sees them:

- inside ``()``, ``[]`` and value tables (a ``{`` right after ``=``, ``,``, ``(``
  or ``[``; any other ``{`` opens a block, where newlines separate items);
- right after ``->`` (a chain continues on the next line);
- at the start of the file and after another newline (blank lines, and lines
  holding only a comment, which the lexer ignores).

It also refuses brackets nested deeper than :data:`MAX_DEPTH`: no real pipeline
comes close, and later passes recurse over the nesting.
"""

from __future__ import annotations

from typing import Iterator

from lark import Token
from lark.lark import PostLex

from hookpipe.dsl.problems import NestingTooDeep

__all__ = ["MAX_DEPTH", "Layout"]

#: Deeper nesting is refused (HP001).
MAX_DEPTH = 100
#: What closes a block's ``{`` (a value table's closes with ``RBRACE`` itself).
_BLOCK = "BLOCK"
#: Brackets that open a region where newlines mean nothing, and what closes them.
_CLOSE = {"LPAR": "RPAR", "LSQB": "RSQB"}
#: A ``{`` after one of these opens a value table, not a block.
_VALUE_CONTEXT = frozenset({"EQUAL", "COMMA", "LPAR", "LSQB"})
#: Newlines right after these are dropped (None: the start of the file).
_NO_NEWLINE_AFTER = frozenset({None, "_NL", "_ARROW"})
#: The terminals this post-lexer looks at; every other token passes straight through.
_LAYOUT = frozenset({"_NL", "LPAR", "LSQB", "LBRACE", "RPAR", "RSQB", "RBRACE"})


class Layout(PostLex):
    """Drops the newlines that are layout, not separators (one instance serves every parse)."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        """The tokens of ``stream`` the parser should see, in order.

        Raises ``NestingTooDeep`` at the first bracket past :data:`MAX_DEPTH`
        (after the tokens before it, so the parser reports an earlier mistake first).
        """
        layout = _LAYOUT
        stack: list[str] = []  # what closes each open bracket; _BLOCK for a block
        previous: str | None = None
        for token in stream:
            kind = token.type
            if kind in layout:
                if kind == "_NL":
                    if previous in _NO_NEWLINE_AFTER or (stack and stack[-1] != _BLOCK):
                        continue
                elif kind == "LBRACE" or kind in _CLOSE:
                    stack.append(_CLOSE.get(kind) or ("RBRACE" if previous in _VALUE_CONTEXT else _BLOCK))
                    if len(stack) > MAX_DEPTH:
                        raise NestingTooDeep(token.line or 0, token.column or 0, MAX_DEPTH)
                elif stack and (stack[-1] == kind or (kind == "RBRACE" and stack[-1] == _BLOCK)):
                    stack.pop()
            previous = kind
            yield token
