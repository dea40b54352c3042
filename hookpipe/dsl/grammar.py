"""Loading the lark grammar shipped inside the package, once per process."""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark

from hookpipe.dsl.lexer import PipeLexer
from hookpipe.dsl.transform import ToAst

_LOCK = threading.Lock()


def grammar_text() -> str:
    return resources.files("hookpipe.grammars").joinpath("pipe.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, ToAst]:
    transformer = ToAst()
    lark = Lark(
        grammar_text(),
        parser="lalr",
        lexer=PipeLexer,
        keep_all_tokens=True,
        maybe_placeholders=False,
        transformer=transformer,
    )
    return lark, transformer


def parser() -> Lark:
    """The LALR parser; built lazily so importing hookpipe costs nothing."""
    return _parser()[0]


def parse(text: str, path: str) -> Any:
    """Parse ``text``, building AST nodes for ``path`` during the parse itself."""
    lark, transformer = _parser()
    with _LOCK:  # the transformer holds the path of the parse in progress
        transformer.path = path
        return lark.parse(text)
