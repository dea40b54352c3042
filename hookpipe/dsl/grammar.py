"""The grammar shipped inside the package, turned into parse tables once per machine.

lark owns the grammar: it builds the LALR tables and names the terminals. That
build takes 30-50 ms and importing lark another 15-30, most of what a one-file
``hookpipe lint`` would spend on parsing. So the tables and terminals are stored
as plain JSON (:class:`~hookpipe.dsl.lalr.Tables`), keyed by a hash of the grammar
text and the lark version, in the user's cache folder (``$HOOKPIPE_CACHE_DIR``,
else ``$XDG_CACHE_HOME/hookpipe`` or ``~/.cache/hookpipe``); a process that finds
them there never imports lark. JSON rather than a pickle, so a file someone else
could write is data, not code; a stored file that does not read back is rebuilt.
Where the folder cannot be written the tables are simply built each time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from functools import lru_cache
from importlib import resources
from typing import Any

from hookpipe.dsl.lalr import Driver, Tables
from hookpipe.dsl.lexer import Lexer
from hookpipe.dsl.terminals import Terminals
from hookpipe.dsl.transform import ToAst
from hookpipe.fileio import write_atomic

_LOCK = threading.Lock()
#: Bumped when what is stored changes shape.
_FORMAT = 1


def grammar_text() -> str:
    return resources.files("hookpipe.grammars").joinpath("pipe.lark").read_text(encoding="utf-8")


def cache_dir() -> str | None:
    """Where the built tables are stored (None: nowhere writable)."""
    base = os.environ.get("HOOKPIPE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "hookpipe"
    )
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        return None
    return base if os.access(base, os.W_OK) else None


def build_lark() -> Any:
    """A fresh lark LALR parser for the grammar (only its tables and terminal names are used)."""
    from lark import Lark

    return Lark(grammar_text(), parser="lalr", lexer="basic", keep_all_tokens=True, maybe_placeholders=False)


def _lark_identity() -> str:
    """Which lark installation would build the tables, found without importing it."""
    spec = importlib.util.find_spec("lark")
    origin = spec.origin if spec is not None and spec.origin else ""
    try:
        return f"{origin}\0{os.stat(origin).st_mtime_ns}"
    except OSError:
        return origin


@lru_cache(maxsize=1)
def _built() -> tuple[Tables, Terminals]:
    text = grammar_text()
    key = hashlib.sha256(f"{_FORMAT}\0{_lark_identity()}\0{text}".encode()).hexdigest()[:20]
    folder = cache_dir()
    path = os.path.join(folder, f"pipe-tables-{key}.json") if folder else None
    if path is not None:
        stored = _read(path)
        if stored is not None:
            return stored
    parser = build_lark()
    tables, terms = Tables.from_lark(parser), Terminals.from_grammar(parser.terminals, text)
    if path is not None:
        _write(path, tables, terms)
    return tables, terms


def _read(path: str) -> tuple[Tables, Terminals] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        t = data["terminals"]
        terms = Terminals(dict(t["patterns"]), dict(t["literals"]), frozenset(t["named"]), tuple(t["reserved"]))
        return Tables.from_json(data["tables"]), terms
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: str, tables: Tables, terms: Terminals) -> None:
    """Store atomically (a concurrent reader sees the old file or the whole new one); failures are ignored."""
    data = {"tables": tables.to_json(), "terminals": {"patterns": terms.patterns, "literals": terms.literals,
                                                      "named": sorted(terms.named), "reserved": list(terms.reserved)}}
    try:
        write_atomic(path, json.dumps(data, separators=(",", ":")))
    except OSError:
        pass


@lru_cache(maxsize=1)
def terminals() -> Terminals:
    """The grammar's terminals as tables (what the lexer, the AST builder and HP001 read)."""
    return _built()[1]


@lru_cache(maxsize=1)
def lexer() -> Lexer:
    """The lexer for the grammar's terminals."""
    return Lexer(terminals())


@lru_cache(maxsize=1)
def _parser() -> tuple[Driver, ToAst]:
    tables, terms = _built()
    builder = ToAst(terms.syntax_only)
    return Driver(tables, builder), builder


def parser() -> Driver:
    """The LALR driver; built (or loaded) lazily so importing hookpipe costs nothing."""
    return _parser()[0]


def parse(text: str, path: str) -> Any:
    """Parse ``text``, building AST nodes for ``path`` during the parse itself.

    Raises a ``problems.SyntaxProblem`` (BadCharacter, NestingTooDeep, ParseError)
    for text that is not a pipeline.
    """
    driver, builder = _parser()
    tokens, problem = lexer().scan(text)
    with _LOCK:  # the builder holds the path of the parse in progress
        builder.path = path
        return driver.parse(tokens, problem)
