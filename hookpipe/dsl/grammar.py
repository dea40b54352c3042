"""Loading the lark grammar shipped inside the package, once per process.

Building the LALR tables takes 30-50 ms, a sixth of a ``hookpipe lint`` process.
Lark can store the built parser and check it against the grammar and options on
load (its ``cache`` option); hookpipe keeps that file in the user's cache folder
(``$HOOKPIPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/hookpipe`` or ``~/.cache/hookpipe``),
not in the shared temporary folder, because loading it unpickles it. Where that
folder cannot be written the parser is simply built each time.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import lark as _lark
from lark import Lark

from hookpipe.dsl.lalr import Driver
from hookpipe.dsl.lexer import Lexer
from hookpipe.dsl.terminals import Terminals
from hookpipe.dsl.transform import ToAst

_LOCK = threading.Lock()


def grammar_text() -> str:
    return resources.files("hookpipe.grammars").joinpath("pipe.lark").read_text(encoding="utf-8")


def cache_file() -> str | bool:
    """Where the built parser is cached (False: nowhere writable)."""
    base = os.environ.get("HOOKPIPE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "hookpipe"
    )
    try:
        Path(base).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(base, os.W_OK):
        return False
    # Lark checks the grammar and options hash inside; the name keeps lark versions apart.
    return os.path.join(base, f"pipe-grammar-lark{_lark.__version__}.cache")


@lru_cache(maxsize=1)
def _driver() -> Driver:
    lark, builder = _parser()
    return Driver(lark, builder)


@lru_cache(maxsize=1)
def terminals() -> Terminals:
    """The grammar's terminals as tables (what the lexer, the AST builder and HP001 read)."""
    return Terminals.from_grammar(parser().terminals, grammar_text())


@lru_cache(maxsize=1)
def lexer() -> Lexer:
    """The lexer for the grammar's terminals."""
    return Lexer(terminals())


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, ToAst]:
    transformer = ToAst()
    lark = Lark(
        grammar_text(),
        cache=cache_file(),
        parser="lalr",
        lexer="basic",  # only the tables are used: hookpipe.dsl.lexer feeds the driver
        keep_all_tokens=True,
        maybe_placeholders=False,
    )
    transformer.syntax_only = Terminals.from_grammar(lark.terminals, grammar_text()).syntax_only
    return lark, transformer


def parser() -> Lark:
    """The lark instance holding the LALR tables; built lazily so importing hookpipe costs nothing."""
    return _parser()[0]


def parse(text: str, path: str) -> Any:
    """Parse ``text``, building AST nodes for ``path`` during the parse itself.

    Raises a ``problems.SyntaxProblem`` (BadCharacter, NestingTooDeep, ParseError)
    for text that is not a pipeline.
    """
    transformer = _parser()[1]
    driver = _driver()
    stream = lexer().tokens(text)
    with _LOCK:  # the transformer holds the path of the parse in progress
        transformer.path = path
        return driver.parse(stream)
