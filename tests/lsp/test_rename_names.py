"""Rename refuses exactly the words the grammar reserves (its keyword terminals), and accepts other names."""

from __future__ import annotations

import pytest

from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.dsl.grammar import terminals
from hookpipe.lsp.index import build_index
from hookpipe.lsp.navigation import rename

TEXT = 'use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\nhook h = probes.H()\nloop { epoch { step { after { h } } } }\n'


def test_every_keyword_of_the_grammar_is_refused_as_a_new_name() -> None:
    index = build_index(run_passes(load_text(TEXT, "n.pipe"), "n.pipe"))
    occ = index.definition("hook", "h")
    assert occ is not None
    keywords = sorted(terminals().keywords)
    assert {"hook", "reads", "every", "none"} <= set(keywords)
    for word in keywords:
        with pytest.raises(ValueError, match="not a valid hook name"):
            rename(occ, index, word)
    for word in ("hooks", "reader", "every_n", "None"):
        assert rename(occ, index, word) is not None, word
