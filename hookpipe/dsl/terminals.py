"""The grammar's terminals as plain tables: one source for the AST builder, HP001 and the editor.

``grammars/pipe.lark`` is the definition. lark names its anonymous literals
(``"{"`` is ``LBRACE``, ``"hook"`` is ``HOOK``) when it builds the parser, so the
tables are read from the built parser's terminal list plus the grammar text (which
terminals it names itself). A new keyword is then one edit, in the grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["Terminals"]

_NAMED = re.compile(r"^([A-Z_][A-Z0-9_]*)(?:\.\d+)?\s*:", re.M)


@dataclass(frozen=True)
class Terminals:
    """What each terminal matches.

    Attributes:
        patterns: Regex terminals by name (``NAME``, ``INT``...), as the grammar writes them.
        literals: Literal terminals by name, with their exact text (``LBRACE`` -> ``{``).
        named: The terminals the grammar names itself; the other literals are
            anonymous, so they shape the syntax and carry no data.
        reserved: The keywords in the order the grammar first quotes them (for messages).
    """

    patterns: dict[str, str]
    literals: dict[str, str]
    named: frozenset[str]
    reserved: tuple[str, ...] = ()

    @classmethod
    def from_grammar(cls, terminals: Iterable[Any], grammar: str) -> "Terminals":
        """From lark's ``Lark.terminals`` (``TerminalDef``\\ s) and the grammar's text.

        Example:
            >>> from types import SimpleNamespace as T
            >>> t = Terminals.from_grammar([T(name="LBRACE", pattern=T(type="str", value="{"))], "start: \\"{\\"")
            >>> t.punctuation, t.syntax_only
            ({'{': 'LBRACE'}, frozenset({'LBRACE'}))
        """
        patterns: dict[str, str] = {}
        literals: dict[str, str] = {}
        for t in terminals:
            if t.pattern.type == "str":
                literals[t.name] = t.pattern.value
            else:
                patterns[t.name] = t.pattern.value
        words = [text for text in literals.values() if text.isidentifier()]
        reserved = tuple(sorted(words, key=lambda w: grammar.find(f'"{w}"')))
        return cls(patterns, literals, frozenset(_NAMED.findall(grammar)), reserved)

    @property
    def keywords(self) -> dict[str, str]:
        """Reserved words: word -> terminal (lark's basic lexer makes them keywords everywhere)."""
        return {text: name for name, text in self.literals.items() if text.isidentifier()}

    @property
    def punctuation(self) -> dict[str, str]:
        """Literal symbols: text -> terminal."""
        return {text: name for name, text in self.literals.items() if not text.isidentifier()}

    @property
    def syntax_only(self) -> frozenset[str]:
        """Terminals that only shape the syntax: anonymous literals and ``_``-prefixed names."""
        return frozenset(
            name for name in self.literals if name not in self.named or name.startswith("_")
        ) | frozenset(name for name in self.patterns if name.startswith("_"))
