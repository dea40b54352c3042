"""A fast lexer for the .pipe grammar, with the layout rules folded in.

Most of the work is done by C loops: one ``findall`` over a master regex (each match
is optional blanks plus one token, so the matches cover the text and their lengths
add up to each token's end offset), then ``map`` over the matches for the text and
for the terminal (a keyword or symbol by its text, anything else by its first
character). Python runs one short loop that only looks closer at the tokens whose
meaning depends on context: newlines, brackets, numbers, strings, comments and
characters no token starts with. Its patterns, keywords and symbols come from
``grammars/pipe.lark`` (:class:`~hookpipe.dsl.terminals.Terminals`), so it emits
exactly the terminals the grammar defines (a test compares it with lark's own
lexer).

The layout rules are applied in the same loop: newlines inside ``()``, ``[]`` and
value tables, right after ``->``, and repeated ones carry no meaning and are
dropped. That keeps the grammar LALR(1) without allowing newlines everywhere.

Tokens are plain tuples ``(terminal, text, line, column, end column)`` (1-based,
end exclusive; a token never spans lines): the parser makes half a million of them
for a big file, and a tuple display is the cheapest object Python builds.
"""

from __future__ import annotations

import re
import string
from itertools import accumulate, repeat
from operator import itemgetter, sub
from typing import Iterator

from hookpipe.dsl.problems import BadCharacter, NestingTooDeep, SyntaxProblem
from hookpipe.dsl.terminals import Terminals
from hookpipe.dsl.tokens import Tok, Token

__all__ = ["MAX_DEPTH", "Lexer", "Tok", "Token"]

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
#: Provisional terminals, by first character, of the tokens the loop looks at again.
_NUMBER, _STRING, _COMMENT = "<number>", "<string>", "<comment>"
#: Terminals whose meaning depends on what surrounds them (None: no token starts so).
_CONTEXTUAL = frozenset({"_NL", _NUMBER, _STRING, _COMMENT, None, "LPAR", "RPAR", "LSQB", "RSQB", "LBRACE", "RBRACE"})


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
        # The terminals' own groups are non-capturing, so findall returns whole matches; one
        # flat alternation (``(?:a|b)|c`` is ``a|b|c``) is about a fifth faster in ``re``.
        body = "|".join(alternatives[name] for name in _ORDER)
        # ``[ \t]*`` rather than the equal ``(?:[ \t]+)?``: ``re`` runs it as one loop.
        blanks = f"{space[:-1]}*" if re.fullmatch(r"\[[^\]]*\]\+", space) else f"(?:{space})?"
        self._findall = re.compile(f"{blanks}(?:{body})").findall
        self._patterns = alternatives
        self._blanks = "".join(c for c in "\t\n\x0b\x0c\r " if re.fullmatch(space, c) is not None)
        self.keywords = terminals.keywords
        self.symbols = symbols
        self._fixed = {**self.keywords, **symbols}
        self._first: dict[str, str] = {
            **dict.fromkeys(string.ascii_letters + "_", "NAME"), **dict.fromkeys(string.digits + "-", _NUMBER),
            "\n": "_NL", '"': _STRING, "#": _COMMENT,
        }

    def tokens(self, text: str) -> Iterator[Tok]:
        """The significant tokens of ``text`` as :class:`Tok`; raises BadCharacter or NestingTooDeep."""
        tokens, problem = self.scan(text)
        yield from map(Tok._make, tokens)
        if problem is not None:
            raise problem

    def scan(self, text: str) -> tuple[list[Token], SyntaxProblem | None]:
        """The significant tokens of ``text``, as the parser reads them, and what stopped the scan.

        A character no token starts with, or brackets nested too deep, end the
        list with the problem returned beside it, not raised: the parser reports
        an earlier mistake first, as it would have seen it first.
        """
        matches = self._findall(text)
        ends = list(accumulate(map(len, matches)))
        values = list(map(str.lstrip, matches, repeat(self._blanks)))
        del matches  # a big file's matches are tens of MB: free them before the tokens are built
        starts = map(sub, ends, map(len, values))
        kinds = map(self._fixed.get, values, map(self._first.get, map(itemgetter(0), values)))
        out: list[Token] = []
        push = out.append
        contextual = _CONTEXTUAL
        stack: list[str] = []  # what closes each open bracket; "BLOCK" for blocks
        previous: str | None = None
        line, base = 1, -1  # base: the offset before the line's first character
        for kind, value, start, end in zip(kinds, values, starts, ends):
            if kind in contextual:
                if kind == "_NL":
                    if not (previous in (None, "_NL", "_ARROW") or (stack and stack[-1] != "BLOCK")):
                        push(("_NL", value, line, start - base, start - base + 1))
                        previous = "_NL"
                    line += len(value)
                    base = end - 1
                    continue
                if kind == _COMMENT:
                    continue
                if kind == "LBRACE" or kind in _CLOSE:
                    stack.append(_CLOSE.get(kind) or ("RBRACE" if previous in _VALUE_CONTEXT else "BLOCK"))
                    if len(stack) > MAX_DEPTH:
                        return out, NestingTooDeep(line, end - base - 1, MAX_DEPTH)
                elif kind in ("RPAR", "RSQB", "RBRACE"):
                    if stack and (stack[-1] == kind or (kind == "RBRACE" and stack[-1] == "BLOCK")):
                        stack.pop()
                else:
                    kind = self._classify(kind, value)
                    if kind == "BAD":
                        return out, BadCharacter(line, end - base - 1, value)
            previous = kind
            push((kind, value, line, start - base, end - base))  # type: ignore[arg-type]  # kind is known here
        return out, None

    def _classify(self, kind: str | None, value: str) -> str:
        """The terminal of a number, a string or a token no first character told (``BAD`` for none)."""
        if kind == _NUMBER and value != "-":
            return "FLOAT" if "." in value or "e" in value or "E" in value else "INT"
        if kind == _STRING and len(value) > 1:
            return "STRING"
        for name in _ORDER:  # rare: a token the fast path cannot tell by its first character
            if re.fullmatch(self._patterns[name], value) is not None:  # (a non-ASCII digit is an INT for \d)
                return self.symbols.get(value, name) if name in ("PUNCT", "LONG") else name
        return "BAD"
