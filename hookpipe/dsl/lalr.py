"""A lean driver for lark's LALR tables: the parser's hot loop.

lark's own loop pays, per token, a method call and a ``ParserState`` lookup and,
per reduction, a dict lookup keyed by a ``Rule`` object plus its child-filter
wrappers, which build a lark ``Tree`` for every inlined ``_rule`` only for the
parent to unpack it again. This driver runs the *same* tables from plain lists
prepared once and calls the AST builder's method for each rule directly, with the
children lark would pass it: every token kept, the children of ``_``-prefixed
rules spliced into their parent's. At the first token the tables reject it raises
``ParseError`` with the terminals that state would have accepted and the state
stack (the help table keys on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from hookpipe.dsl.problems import ParseError, SyntaxProblem
from hookpipe.dsl.tokens import Tok, Token

if TYPE_CHECKING:
    from lark import Lark

#: A reduction as stored: (symbols popped, the rule's name for the goto, positions of
#: inlined children to splice, the builder method's name; None for an inlined rule).
RuleSpec = tuple[int, str, tuple[int, ...], "str | None"]
#: The same with the builder's method bound; an inlined rule's value is its children.
Reduction = tuple[int, str, tuple[int, ...], "Callable[[list[Any]], Any] | None"]
#: state -> token or rule name -> next state (a shift or goto, >= 0) or ~reduction index.
Table = list[dict[str, int]]


@dataclass(frozen=True)
class Tables:
    """lark's LALR tables for one start rule, as plain lists, dicts, ints and strings.

    Plain data, so ``hookpipe.dsl.grammar`` can store them as JSON and a process
    that finds them stored parses without importing lark at all.
    """

    table: Table
    rules: list[RuleSpec]
    start: int
    end: int

    @classmethod
    def from_lark(cls, lark: Lark, start: str = "start") -> "Tables":
        """Read a ``Lark(parser="lalr")`` instance's tables and rules (what lark's tree builder would do)."""
        from lark.parsers.lalr_analysis import Shift

        parse_table = lark.parser.parser.parser.parse_table  # ParsingFrontend -> LALR_Parser -> _Parser
        index: dict[Any, int] = {}
        rules: list[RuleSpec] = []
        table: Table = [{} for _ in range(len(parse_table.states))]
        for state, actions in parse_table.states.items():
            row = table[state]
            for symbol, (action, arg) in actions.items():
                if action is Shift:
                    row[symbol] = arg
                    continue
                number = index.get(arg)
                if number is None:
                    number = index[arg] = len(rules)
                    rules.append(_rule_spec(arg))
                row[symbol] = ~number
        return cls(table, rules, parse_table.start_states[start], parse_table.end_states[start])

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "rules": [list(r) for r in self.rules], "start": self.start, "end": self.end}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Tables":
        rules = [(int(size), str(origin), tuple(int(i) for i in inlined), None if name is None else str(name))
                 for size, origin, inlined, name in data["rules"]]
        if any(name is not None and (name.startswith("_") or not name.isidentifier()) for *_, name in rules):
            raise ValueError("a rule names no builder method")  # only the builder's public methods are called
        table = [{str(k): int(v) for k, v in row.items()} for row in data["table"]]
        return cls(table, rules, int(data["start"]), int(data["end"]))


class Driver:
    """The LALR automaton of ``tables``, reducing with ``builder``'s methods.

    ``builder`` has one method per rule (named by the rule's alias, else its
    name), taking the rule's children as a list; rules whose name starts with
    ``_`` are inlined, as in lark.
    """

    def __init__(self, tables: Tables, builder: object) -> None:
        self.table = tables.table
        self.reductions: list[Reduction] = []
        for size, origin, inlined, name in tables.rules:
            build = None if name is None else getattr(builder, name, None)
            if name is not None and build is None:
                raise ValueError(f"the AST builder has no method for rule `{name}`")
            self.reductions.append((size, origin, _FIRST if inlined == _FIRST else inlined, build))
        #: Each state's ``dict.get``, bound once: the loop calls one per token and reduction.
        self._actions = [row.get for row in self.table]
        self.start = tables.start
        self.end = tables.end

    def parse(self, tokens: Iterable[Token], problem: SyntaxProblem | None = None) -> Any:
        """The start rule's value; raises ParseError at the first token that does not fit.

        ``problem`` is what ended the token list early (the lexer's error): raised
        when the parse reaches it, unless a token before it did not fit.

        The loop is written for speed: each state's ``dict.get`` bound once, a
        one-symbol reduction done on the top of the value stack in place, a longer
        one's children sliced off it, and the splice of a repetition
        (``__x: __x "," item``, one inlined list first or last) done without a call.
        """
        table, reductions = self.table, self.reductions
        actions = self._actions
        state = self.start
        states = [state]
        values: list[Any] = []
        push_state, push_value = states.append, values.append
        for token in tokens:
            kind = token[0]
            while True:
                action = actions[state](kind)
                if action is None:
                    raise ParseError(Tok._make(token), self.accepts(states), tuple(states))
                if action >= 0:
                    state = action
                    push_state(state)
                    push_value(token)
                    break
                size, origin, inlined, build = reductions[~action]
                if size == 1:  # a third of all reductions: replace the top value in place
                    del states[-1]
                    if inlined:  # the child is an inlined rule's list: spliced, it is itself
                        if build is not None:
                            values[-1] = build(values[-1])
                    else:
                        values[-1] = [values[-1]] if build is None else build([values[-1]])
                    state = table[states[-1]][origin]
                    push_state(state)
                    continue
                if size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                    if inlined:
                        if inlined is _FIRST:
                            first = children[0]
                            first += children[1:]
                            children = first
                        elif inlined[0] == size - 1:  # one list last: a rule's own repetition
                            children[-1:] = children[-1]
                        else:
                            children = _splice(children, inlined)
                else:
                    children = []
                push_value(children if build is None else build(children))
                state = table[states[-1]][origin]
                push_state(state)
        if problem is not None:
            raise problem
        while states[-1] != self.end:
            action = table[states[-1]].get("$END")
            if action is None or action >= 0:
                raise ParseError(None, self.accepts(states), tuple(states))
            self._reduce(states, values, self.reductions[~action])
        return values[-1]

    def _reduce(self, states: list[int], values: list[Any], reduction: Reduction) -> None:
        """The loop's reduction, for the end of input."""
        size, origin, inlined, build = reduction
        children = values[len(values) - size:]
        del states[len(states) - size:]
        del values[len(values) - size:]
        if inlined:
            children = _splice(children, inlined)
        values.append(children if build is None else build(children))
        states.append(self.table[states[-1]][origin])

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
                if action >= 0 or (symbol == "$END" and stack[-1] == self.end):
                    found.add(symbol)
                    break
                size, origin, _, _ = self.reductions[~action]
                if size:
                    del stack[-size:]
                goto = table[stack[-1]].get(origin)
                if goto is None:
                    break
                stack.append(goto)
                if symbol == "$END" and stack[-1] == self.end:
                    found.add(symbol)
                    break
        return frozenset(found)


#: The inlined positions of a left-recursive repetition: the common splice, done in the loop.
_FIRST = (0,)


def _rule_spec(rule: Any) -> RuleSpec:
    """How to reduce one of lark's ``Rule``\\ s: what lark's tree builder would do, without trees."""
    name = rule.origin.name
    inlined = tuple(i for i, symbol in enumerate(rule.expansion) if not symbol.is_term and symbol.name.startswith("_"))
    if name.startswith("_"):
        return len(rule.expansion), name, inlined, None
    if rule.options.expand1 and not rule.alias:
        raise ValueError(f"`?{name}` without an alias is not supported by the fast driver")
    return len(rule.expansion), name, inlined, rule.alias or name


def _splice(children: list[Any], inlined: tuple[int, ...]) -> list[Any]:
    """``children`` with the lists at ``inlined`` positions spliced in.

    A leading inlined list is extended in place (it belongs to this reduction
    alone), so a left-recursive repetition (``__x: __x "," item``) stays linear,
    as in lark, and costs one slice.
    """
    if inlined[0] == 0:
        out: list[Any] = children[0]
        if len(inlined) == 1:
            out += children[1:]
            return out
        start = 1
    else:
        out, start = [], 0
    for i in range(start, len(children)):
        if i in inlined:
            out += children[i]
        else:
            out.append(children[i])
    return out
