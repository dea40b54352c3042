"""`--set` bounds integers as the language does: both read the one ``MAX_INT``."""

from __future__ import annotations

import pytest

from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.dsl.transform import MAX_INT
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.plan.overrides import parse_override_value


def test_integers_are_bounded_alike_in_a_file_and_on_the_command_line() -> None:
    assert parse_override_value(str(MAX_INT)) == MAX_INT
    with pytest.raises(PlanResolveError, match="out of range"):
        parse_override_value(str(MAX_INT + 1))
    text = "trainer {\n    max_step = %d\n}\n"
    ctx = run_passes(load_text(text % MAX_INT, "i.pipe"), "i.pipe")
    assert not [d for d in ctx.diagnostics if d.severity == "error"]
    ctx = run_passes(load_text(text % (MAX_INT + 1), "i.pipe"), "i.pipe")
    assert [(d.code, d.message) for d in ctx.diagnostics] == [("HP001", f"the number `{MAX_INT + 1}` is out of range")]
