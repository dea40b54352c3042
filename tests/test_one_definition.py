"""Facts the compiler, lint, language server and runtime share are defined once: the users agree.

Each test drives two users of one fact and checks they agree, so a second copy that
drifts (a unit allowed in one table but not the other, a suppression the quick fix
writes that lint does not read) fails here.
"""

from __future__ import annotations

from dataclasses import fields

import pytest

from hookpipe.compiler.class_effects import class_info
from hookpipe.compiler.frequency import UNIT_SPELLINGS
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.loop import SCOPE_TABLE, SCOPE_UNITS, STEP_SCOPES, UNITS, VALIDATION_UNITS
from hookpipe.compiler.pipeline import run_passes
from hookpipe.compiler.plan import EFFECT_KINDS, Effects
from hookpipe.dsl.grammar import terminals
from hookpipe.lint.suppress import marked_codes, suppression_comment

HEAD = 'use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\nhook h = probes.H()\n'


def _nest(scope: str, body: str) -> str:
    """``body`` placed in the ``after`` phase of ``scope``, inside its enclosing scopes."""
    parents = {s.name: s.parent for s in SCOPE_TABLE}
    text = f"{scope} {{ after {{ {body} }} }}"
    parent = parents[scope]
    while parent is not None:
        text = f"{parent} {{ {text} }}"
        parent = parents[parent]
    return text + "\n"


@pytest.mark.parametrize("scope", [s.name for s in SCOPE_TABLE])
@pytest.mark.parametrize("unit", UNITS)
def test_a_scope_counts_exactly_the_units_of_its_table_entry(scope: str, unit: str) -> None:
    """The frequency pass (HP007) and the loop's table agree on what each scope may count."""
    ctx = run_passes(load_text(HEAD + _nest(scope, f"h every 2 {unit}s"), "u.pipe"), "u.pipe")
    refused = [d for d in ctx.diagnostics if d.code == "HP007"]
    assert (not refused) == (unit in SCOPE_UNITS[scope]), (scope, unit, refused)
    if unit == "step":  # runs inside a step (runtime traces and HP108 read STEP_SCOPES) = counts steps
        assert (scope in STEP_SCOPES) == (not refused)
    assert set(UNIT_SPELLINGS.values()) == set(UNITS) | set(VALIDATION_UNITS)  # batches: inside a validation block


def test_step_scopes_are_the_scopes_that_count_steps() -> None:
    assert STEP_SCOPES == {s for s, units in SCOPE_UNITS.items() if "step" in units}
    assert all(s.per_step == (s.name in STEP_SCOPES) for s in SCOPE_TABLE)


def test_effect_kinds_are_the_fields_of_effects_the_grammar_keywords_and_the_class_keys() -> None:
    assert EFFECT_KINDS == tuple(f.name for f in fields(Effects))
    assert set(EFFECT_KINDS) <= set(terminals().keywords)
    effects = Effects(*((f"r_{kind}",) for kind in EFFECT_KINDS))
    assert list(effects.to_json()) == list(EFFECT_KINDS) and Effects.from_json(effects.to_json()) == effects
    declared = class_info(type("C", (), {"effects": {kind: (f"r_{kind}",) for kind in EFFECT_KINDS}}))
    assert all(declared.effects.of(kind) == (f"r_{kind}",) for kind in EFFECT_KINDS)
    with pytest.raises(ValueError, match="expected " + "/".join(EFFECT_KINDS)):
        class_info(type("C", (), {"effects": {"touches": ("x",)}}))


def test_the_suppression_the_quick_fix_writes_is_the_one_lint_reads() -> None:
    assert marked_codes(suppression_comment("HP101")) == ("HP101",)
    assert marked_codes(suppression_comment("HP101", "hp103")) == ("HP101", "HP103")
    assert marked_codes("# a plain comment") is None
