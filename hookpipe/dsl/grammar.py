"""The grammar shipped inside the package, parsed by lark's LALR parser.

lark owns parsing: ``Lark(parser="lalr", lexer="basic")`` over ``grammars/pipe.lark``,
with the layout rules as its post-lexer (:class:`~hookpipe.dsl.layout.Layout`) and the
AST builder as its transformer (:class:`~hookpipe.dsl.transform.ToAst`), so each
reduction builds its typed node at once and no parse tree is made. The parser is
built once per process, on first use.

Building it (lark reading the grammar and computing the LALR tables) takes about
50 ms, a quarter of a one-file ``hookpipe lint``; lark's own ``cache=`` keeps the
built parser in a file and loads it in about 5 ms. That file is a pickle, which
runs code when loaded, so it lives only where nobody else can write: the user's
cache folder (``$HOOKPIPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/hookpipe`` or
``~/.cache/hookpipe``), used only when it is a real folder owned by this user that
neither group nor others may write, and a file there only when it is a regular
file owned by this user, likewise. Never a shared temporary folder (lark's
``cache=True`` default). Anywhere else, or on a system without user ids, the
parser is built each time.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import threading
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

import lark as lark_package
from lark import Lark, Token, UnexpectedCharacters, UnexpectedToken

from hookpipe.dsl.layout import Layout
from hookpipe.dsl.problems import BadCharacter, ParseError
from hookpipe.dsl.terminals import Terminals
from hookpipe.dsl.transform import ToAst

__all__ = ["build", "cache_dir", "cache_file", "grammar_text", "parse", "parser", "terminals", "tokens"]

_LOCK = threading.Lock()


def grammar_text() -> str:
    return resources.files("hookpipe.grammars").joinpath("pipe.lark").read_text(encoding="utf-8")


def _private(info: os.stat_result, kind: int) -> bool:
    """Whether ``info`` is a ``kind`` (``stat.S_IFDIR``, ``stat.S_IFREG``) that only this user can write."""
    getuid = getattr(os, "getuid", None)
    return (getuid is not None and stat.S_IFMT(info.st_mode) == kind and info.st_uid == getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def cache_dir() -> str | None:
    """The folder for the built parser: this user's own, nobody else's to write (None: there is none)."""
    base = os.environ.get("HOOKPIPE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "hookpipe"
    )
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
    except OSError:
        return None
    return base if _private(info, stat.S_IFDIR) and os.access(base, os.W_OK | os.X_OK) else None


def cache_file(text: str) -> str | None:
    """Where lark may keep the parser built from ``text``: a private folder's file, or None."""
    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256(f"{text}\0{lark_package.__version__}\0{sys.version_info[:2]}".encode()).hexdigest()[:20]
    path = os.path.join(folder, f"pipe-parser-{key}.lark")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError:
        return None
    return path if _private(info, stat.S_IFREG) else None


@lru_cache(maxsize=1)
def _built() -> tuple[Lark, ToAst, Terminals]:
    text = grammar_text()
    return build(text, cache_file(text))


def build(text: str, cache: str | None = None) -> tuple[Lark, ToAst, Terminals]:
    """lark's parser for the grammar ``text``, its AST builder and its terminals.

    ``cache``: a file lark may keep the built parser in (see :func:`cache_file`).
    """
    builder = ToAst()
    # keep_all_tokens: spans run from a node's first token to its last, keywords and
    # brackets included; the builder drops the tokens that carry no data itself.
    lark = Lark(text, parser="lalr", lexer="basic", postlex=Layout(), transformer=builder,
                keep_all_tokens=True, maybe_placeholders=False, cache=cache or False)
    if cache is not None:
        _keep_private(cache)
    terms = Terminals.from_grammar(lark.terminals, text)
    builder.syntax_only = terms.syntax_only  # lark names the anonymous literals only when it builds
    return lark, builder, terms


def _keep_private(path: str) -> None:
    """lark writes its cache with the process's umask: take group and others' write permission away."""
    try:
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode) and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~(stat.S_IWGRP | stat.S_IWOTH))
    except OSError:
        pass


def parser() -> Lark:
    """lark's parser for the grammar; built lazily so importing hookpipe costs nothing."""
    return _built()[0]


def terminals() -> Terminals:
    """The grammar's terminals as tables (what the AST builder, HP001 and the editor's keywords read)."""
    return _built()[2]


def parse(text: str, path: str) -> Any:
    """The top-level items of ``text``, with AST nodes for ``path`` built during the parse.

    Raises a ``problems.SyntaxProblem`` (BadCharacter, NestingTooDeep,
    NumberOutOfRange, ParseError) for text that is not a pipeline.
    """
    lark, builder, _ = _built()
    with _LOCK:  # the builder holds the path of the parse in progress
        builder.path = path
        try:
            return lark.parse(text)
        except UnexpectedCharacters as error:
            raise BadCharacter(error.line, error.column, error.char) from None
        except UnexpectedToken as error:
            raise ParseError(error) from None


def tokens(text: str) -> Iterator[Token]:
    """The tokens of ``text`` the parser reads (layout newlines dropped); raises BadCharacter."""
    try:
        yield from parser().lex(text)
    except UnexpectedCharacters as error:
        raise BadCharacter(error.line, error.column, error.char) from None
