"""A lean driver for lark's LALR tables: the parser's hot loop.

lark's own loop pays, per token, a method call, a ``ParserState`` lookup and, per
reduction, a dict lookup keyed by a ``Rule`` object (hashing and comparing
grammar symbols). This driver runs the *same* tables and the *same* reduction
callbacks (so the same AST) from plain dicts prepared once. At the first token
the tables reject it raises ``ParseError`` with the terminals that state would
have accepted and the state stack (the help table keys on it).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from lark import Lark
from lark.parsers.lalr_analysis import Shift

from hookpipe.dsl.problems import ParseError

#: state -> token or rule name -> (is_shift, next state | (size, rule name, callback))
Table = dict[int, dict[str, tuple[bool, Any]]]


class Driver:
    """The LALR automaton of one ``Lark`` instance (built with an inline transformer)."""

    def __init__(self, lark: Lark, start: str = "start") -> None:
        inner = lark.parser.parser.parser  # ParsingFrontend -> LALR_Parser -> _Parser
        table, callbacks = inner.parse_table, inner.callbacks
        if any(isinstance(key, str) for key in callbacks):
            raise ValueError("terminal callbacks are not supported by the fast driver")
        reduce_info: dict[Any, tuple[int, str, Callable[[list[Any]], Any]]] = {}
        self.table: Table = {}
        for state, actions in table.states.items():
            row: dict[str, tuple[bool, Any]] = {}
            for symbol, (action, arg) in actions.items():
                if action is Shift:
                    row[symbol] = (True, arg)
                else:
                    info = reduce_info.get(arg)
                    if info is None:
                        info = reduce_info[arg] = (len(arg.expansion), arg.origin.name, callbacks[arg])
                    row[symbol] = (False, info)
            self.table[state] = row
        self.start = table.start_states[start]
        self.end = table.end_states[start]

    def parse(self, tokens: Iterable[Any]) -> Any:
        """The start rule's value; raises ParseError at the first token that does not fit."""
        table, reduce = self.table, self._reduce
        states = [self.start]
        values: list[Any] = []
        for token in tokens:
            kind = token.type
            while True:
                action = table[states[-1]].get(kind)
                if action is None:
                    raise ParseError(token, self.accepts(states), tuple(states))
                if action[0]:
                    states.append(action[1])
                    values.append(token)
                    break
                reduce(states, values, action[1])
        while states[-1] != self.end:
            action = table[states[-1]].get("$END")
            if action is None or action[0]:
                raise ParseError(None, self.accepts(states), tuple(states))
            reduce(states, values, action[1])
        return values[-1]

    def _reduce(self, states: list[int], values: list[Any], info: tuple[int, str, Callable[[list[Any]], Any]]) -> None:
        """Replace a rule's symbols on both stacks by the callback's value and the goto state."""
        size, origin, callback = info
        if size:
            children = values[-size:]
            del states[-size:]
            del values[-size:]
        else:
            children = []
        values.append(callback(children))
        states.append(self.table[states[-1]][origin][1])

    def accepts(self, states: list[int]) -> frozenset[str]:
        """The terminals that would be shifted after the reductions they trigger.

        A state's row can list lookaheads that only fail after reducing; following
        the reductions on a copy of the stack keeps those out of "expected ...".
        """
        table = self.table
        found = set()
        for symbol in table[states[-1]]:
            if not (symbol.isupper() or symbol == "$END"):
                continue
            stack = list(states)
            while True:
                action = table[stack[-1]].get(symbol)
                if action is None:
                    break
                if action[0] or (symbol == "$END" and stack[-1] == self.end):
                    found.add(symbol)
                    break
                size, origin, _ = action[1]
                if size:
                    del stack[-size:]
                goto = table[stack[-1]].get(origin)
                if goto is None:
                    break
                stack.append(goto[1])
                if symbol == "$END" and stack[-1] == self.end:
                    found.add(symbol)
                    break
        return frozenset(found)
