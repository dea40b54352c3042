"""The ``Example:`` sections of the shared definitions run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.helpers import ROOT

MODULES = ["hookpipe.compiler.loop", "hookpipe.compiler.plan", "hookpipe.compiler.run_values",
           "hookpipe.compiler.schedule", "hookpipe.compiler.schema_build", "hookpipe.compiler.settings",
           "hookpipe.dsl.terminals", "hookpipe.runtime.dispatch.phases"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
