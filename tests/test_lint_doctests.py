"""The ``Example:`` sections of the lint's public functions run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.helpers import ROOT

MODULES = ["hookpipe.lint.config", "hookpipe.lint.discover", "hookpipe.lint.fragments", "hookpipe.lint.pages",
           "hookpipe.lint.rules", "hookpipe.lint.runner"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
