"""Loading the lark grammar shipped inside the package, once per process."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from lark import Lark

from hookpipe.dsl.layout import Layout


def grammar_text() -> str:
    return resources.files("hookpipe.grammars").joinpath("pipe.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The LALR parser; built lazily so importing hookpipe costs nothing."""
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=False,
        postlex=Layout(),
    )
