"""A fast lexer for the .pipe grammar, with the layout rules folded in.

One ``finditer`` over a master regex (whitespace folded into each match, the
alternative that matched read from ``lastindex``) and plain slotted tokens cost a
fraction of a generic lexer's per-token bookkeeping. Its patterns, keywords and symbols
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

#: The scanner's alternatives, in the order they are tried: the common ones first; a
#: float before the int it starts with, both before the ``->`` a minus could start.
#: Whitespace is an optional prefix of every match, not a token of its own.
_ORDER = ("NAME", "PUNCT", "_NL", "STRING", "FLOAT", "INT", "LONG", "COMMENT", "BAD")
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
        arrow = "|".join(re.escape(s) for s in symbols if len(s) > 1)
        single = "".join(re.escape(s) for s in symbols if len(s) == 1)
        space = terminals.patterns["WS"]
        alternatives = {
            **{name: terminals.patterns[name] for name in ("NAME", "STRING", "FLOAT", "INT", "COMMENT")},
            # Newlines are a layout rule here (``\r`` is whitespace), not the grammar's _NL pattern.
            "_NL": r"\n+", "LONG": arrow, "PUNCT": f"[{single}]",
            # Anything else but whitespace is an error; trailing whitespace matches nothing.
            "BAD": space.replace("[", r"[^\n", 1).rstrip("+"),
        }
        # One numbered group per alternative (the terminals' own groups are non-capturing),
        # so ``lastindex`` says which matched; every character but trailing blanks is in a match.
        body = "|".join(f"({alternatives[name]})" for name in _ORDER)
        self._scan = re.compile(f"(?:{space})?(?:{body})").finditer
        self.keywords = terminals.keywords
        self.symbols = symbols

    def tokens(self, text: str) -> Iterator[Tok]:
        """The significant tokens of ``text``; raises BadCharacter or NestingTooDeep."""
        keywords, symbols, token = self.keywords, self.symbols, Tok
        stack: list[str] = []  # what closes each open bracket; "BLOCK" for blocks
        previous = None
        line, line_start = 1, 0
        for m in self._scan(text):
            index: int = m.lastindex  # type: ignore[assignment]  # one group always matches
            value = m[index]
            end = m.end()
            if index == 1:  # NAME
                kind = keywords.get(value, "NAME")
            elif index == 2:  # PUNCT
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
                    raise NestingTooDeep(line, end - line_start, MAX_DEPTH)
            elif index == 3:  # _NL
                if not (previous in (None, "_NL", "_ARROW") or (stack and stack[-1] != "BLOCK")):
                    column = end - len(value) - line_start + 1
                    yield Tok("_NL", value, line, column, column + 1)
                    previous = "_NL"
                line += len(value)
                line_start = end
                continue
            elif index == 8:  # COMMENT
                continue
            elif index == 9:  # BAD
                raise BadCharacter(line, end - line_start, value)
            else:
                kind = _ORDER[index - 1]
                if kind == "LONG":
                    kind = symbols[value]
            previous = kind
            yield token(kind, value, line, end - len(value) - line_start + 1, end - line_start + 1)
