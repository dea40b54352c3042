"""Turning lark's parse errors into HP001 diagnostics a person can act on.

Expected tokens are said in words, and a table of bad snippets adds a specific help
line: the help of the example that failed in the same parser state on the same
token (what lark's ``UnexpectedInput.match_examples`` compares, indexed once here so
fifty errors do not parse the table fifty times). The table doubles as test fixtures.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Callable, Hashable

from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.dsl.grammar import terminals
from hookpipe.dsl.problems import BadCharacter, NestingTooDeep, NumberOutOfRange, ParseError, SyntaxProblem
from hookpipe.dsl.span import Span
from hookpipe.span import source_lines

#: How HP001 names the token classes; symbols are quoted from the grammar (:func:`token_words`).
_CLASSES: dict[str, str] = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": 'a quoted string',
    "_NL": "a new line",
    "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def token_words() -> dict[str, str]:
    """Terminal -> how a message says it: the classes above, then each symbol as written."""
    symbols = {name: f"`{text}`" for text, name in terminals().punctuation.items()}
    return {**_CLASSES, **symbols}


_VALUE_STARTS = {"INT", "FLOAT", "STRING", "TRUE", "FALSE", "NONE", "LSQB", "LBRACE"}

#: help line -> snippets that fail at the same parser state; ``{reserved}`` is
#: filled in from the grammar (:func:`examples`).
EXAMPLES: dict[str, list[str]] = {
    "attach one hook per line, or chain them in order with `->` (`a -> b`)": [
        "loop {\n after { a, b }\n}",
        "loop {\n after {\n a b\n }\n}",
    ],
    "arguments are keyword-only: write `name = value`": [
        "hook a = grad_clip(1.0)",
        'hook a = grad_clip("norm")',
    ],
    "a hook needs a type with arguments, e.g. `hook clip = grad_clip(max_norm = 1.0)`": [
        "hook a = grad_clip\n",
        "hook a = grad_clip",
        "hook a = b.c\n",
    ],
    "write `order a before b` or `order a after b`": [
        "order a then b",
        "require a then b",
        "order a b",
    ],
    "a frequency reads `every N steps`, `every N updates`, `every N epochs` or `every epoch`": [
        "loop {\n after { a every }\n}",
        "loop {\n after { a every 10 }\n}",
    ],
    "`from` takes the first occurrence as a number: `every 100 steps from 500`": [
        "loop {\n after { a every 2 steps from }\n}",
        "loop {\n after { a every 2 steps from x }\n}",
    ],
    "write `and at end` in full": [
        "loop {\n after { a every 2 steps and end }\n}",
        "loop {\n after { a every 2 steps and }\n}",
    ],
    "`on` names where the hook runs: `on main`": [
        "loop {\n after { a on }\n}",
    ],
    "a value is missing after `=`": [
        "hook a = grad_clip(max_norm = )",
        "trainer {\n x =\n}",
        "trainer {\n x = }",
    ],
    'name a module as a quoted string: `use alias = "package.module"`': [
        "use x = a.b",
        "use x = a",
    ],
    'quote the path: `include "base.pipe"`': [
        "include base.pipe",
        "include base",
    ],
    "put each setting on its own line": [
        "trainer { a = 1 b = 2 }",
        "trainer {\n a = 1 b = 2\n}",
    ],
    "separate arguments with commas": [
        "hook a = t(x = 1 y = 2)",
    ],
    "scopes hold `before { ... }`, `after { ... }` and nested scopes; hooks are attached inside a phase (a "
    "misspelt `after { ... }` reads as a scope)": [
        "loop {\n evaluate\n}",
        "loop {\n epoch {\n a -> b\n }\n}",
        "loop {\n afer { a }\n}",
        "loop {\n epoch {\n aftr { a -> b }\n }\n}",
    ],
    "a reserved word cannot be a name; reserved: {reserved}": [
        "hook from = t()",
        "hook end = t()",
        "hook on = t()",
        "hook every = t()",
        "hook reads = t()",
    ],
}


def _describe_token(kind: str, value: str) -> str:
    if kind in ("$END",):
        return "end of file"
    if kind == "_NL":
        return "end of line"
    if kind == "NAME":
        return f"name `{value}`"
    if kind in ("INT", "FLOAT"):
        return f"number `{value}`"
    if kind == "STRING":
        return f"string {value}"
    if value.isalpha():
        return f"keyword `{value}`"
    return f"`{value}`"


def _bad_character(char: str) -> tuple[str, str | None]:
    """The message and help for a character no token starts with."""
    if char == '"':  # a quote always starts a string: this one does not end on its line
        return "this string is never closed", 'end it with `"` on the line it starts on (write `\\n` for a newline)'
    if unicodedata.decimal(char, None) is not None:  # `৪0` is not 40, nor 80
        name = unicodedata.name(char, "a digit")
        return (f"`{char}` (U+{ord(char):04X} {name}) is not an ASCII digit",
                "numbers are written with the digits 0-9")
    help_text = {"'": "strings use double quotes", "-": "a chain is written `a -> b`"}.get(char)
    return f"unexpected character `{char}`", help_text


def describe_expected(expected: set[str]) -> str:
    table = token_words()
    words: list[str] = []
    names = set(expected)
    reserved = set(terminals().keywords.values())
    if "NAME" in names and reserved <= names:  # an argument's name: a reserved word is one too
        names -= reserved
    if len(names & _VALUE_STARTS) >= 3:
        names -= _VALUE_STARTS | {"NAME"}
        words.append("a value")
    for name in sorted(names):
        if name in table:
            words.append(table[name])
        elif name.startswith("__ANON") or name.startswith("_"):
            continue
        else:
            words.append(f"`{name.lower()}`")
    words = sorted(set(words), key=lambda w: (w.startswith("`"), w))
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def to_diagnostic(
    error: SyntaxProblem,
    path: str,
    text: str,
    parse: Callable[[str], object],
    unclosed: Span | None,
) -> Diagnostic:
    """One HP001 diagnostic for one lexer or parser error."""
    if isinstance(error, NestingTooDeep):
        span = Span(path, error.line, error.column, error.line, error.column + 1)
        return Diagnostic("HP001", "error", f"brackets nested more than {error.limit} levels deep", span,
                          help="flatten the structure; no pipeline needs this depth")
    if isinstance(error, BadCharacter):
        span = Span(path, error.line, error.column, error.line, error.column + 1)
        message, help_text = _bad_character(error.char)
        return Diagnostic("HP001", "error", message, span, help=help_text)
    if isinstance(error, NumberOutOfRange):
        shown = error.text if len(error.text) <= 24 else f"{error.text[:20]}... ({len(error.text):,} characters)"
        span = Span(path, error.line, error.column, error.line, error.end_column)
        return Diagnostic("HP001", "error", f"the number `{shown}` is out of range", span,
                          help="integers are 64-bit (at most 9223372036854775807); floats must be finite")
    assert isinstance(error, ParseError)
    token = error.token
    notes: tuple[Note, ...] = ()
    if token is None:
        lines = source_lines(text)
        if len(lines) > 1 and not lines[-1]:
            lines.pop()  # a final newline ends the last line; the end of the file is on it
        line, column, end_column = len(lines), len(lines[-1]) + 1, len(lines[-1]) + 2
        if unclosed is not None:
            notes = (Note("this block is never closed", unclosed),)
        found = "end of file"
    else:
        line, column = token.line or 1, token.column or 1
        end_column = column + 1 if token.type == "_NL" or not token.end_column else token.end_column
        found = _describe_token(token.type, token.value)
    message = f"unexpected {found}; expected {describe_expected(set(error.accepts))}"
    index = _example_index(parse)
    help_text = index.get((error.context, error.kind)) or index.get((error.context, None))
    return Diagnostic("HP001", "error", message, Span(path, line, column, line, end_column), notes, help_text)


_INDEX: dict[tuple[Hashable, str | None], str] = {}


def examples() -> dict[str, list[str]]:
    """:data:`EXAMPLES` with the grammar's reserved words filled in: the help lines as shown."""
    reserved = " ".join(terminals().reserved)
    return {label.replace("{reserved}", reserved): snippets for label, snippets in EXAMPLES.items()}


def _example_index(parse: Callable[[str], object]) -> dict[tuple[Hashable, str | None], str]:
    """(parser state, token) -> help line, built once from ``EXAMPLES`` on the first syntax error.

    The state is what the parser could do next (``ParseError.context``), not the
    whole stack lark's ``match_examples`` compares, so a mistake nested one scope
    deeper than its example still matches. The first example listed wins a tie.
    """
    if not _INDEX:
        for label, snippets in examples().items():
            for snippet in snippets:
                try:
                    parse(snippet)
                except ParseError as error:
                    _INDEX.setdefault((error.context, error.kind), label)
                    _INDEX.setdefault((error.context, None), label)
                except SyntaxProblem:
                    continue
    return _INDEX
