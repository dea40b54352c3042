"""The text scan completion relies on: which blocks enclose the cursor."""

from __future__ import annotations

from hookpipe.compiler import compile_text
from hookpipe.compiler.catalog import RESOURCES
from hookpipe.compiler.frequency import UNIT_SPELLINGS
from hookpipe.compiler.plan import EFFECT_KINDS, UNITS
from hookpipe.dsl.grammar import terminals
from hookpipe.lsp.completion import complete, frames


def _labels(text: str) -> set[str]:
    return {item.label for item in complete(text, None)}


def test_frames_follow_nesting_and_close_brackets() -> None:
    text = "loop {\n    epoch {\n        after { a }\n        step {\n            after {\n                "
    assert [f.words for f in frames(text)] == [("loop",), ("epoch",), ("step",), ("after",)]


def test_a_hook_with_arguments_opens_an_effects_block() -> None:
    (frame,) = frames("hook s = probes.Speed(window = 5) {\n    ")
    assert frame.words[0] == "hook" and frame.words[-1] == ")"
    assert _labels("hook s = probes.Speed(window = 5) {\n    ") == {"reads", "writes", "consumes"}


def test_strings_and_comments_do_not_open_blocks() -> None:
    assert frames('use a = "x{("  # {\n') == []
    assert "hook" in _labels('use a = "x{("  # {\n')


def test_scopes_offer_only_their_children() -> None:
    assert _labels("loop {\n    epoch {\n        step {\n            batch {\n                ") == {
        "forward", "backward", "before", "after"}


def test_units_after_every() -> None:
    # What the phase's scope counts: a step's phases steps, updates and the epoch's batches; an epoch's, epochs.
    assert _labels("loop { epoch { step { after {\n a every ") == {"step", "update", "batch"}
    assert _labels("loop { epoch { step { after {\n a every 10 ") == {"steps", "updates", "batches"}
    assert _labels("loop { epoch { step { batch { forward { before {\n a every 10 ") == {"steps", "updates", "batches"}
    assert _labels("loop { epoch { after {\n a every ") == {"epoch"}
    assert _labels("loop { epoch { after {\n a every 10 ") == {"epochs"}
    assert _labels("loop { epoch { after { with swap {\n a every 10 ") == {"epochs"}  # a bracket: its phase's
    # The loop's phases run once: no unit, and no `every` among the modifiers.
    assert _labels("loop { after {\n a every ") == set()
    assert "every" not in _labels("loop { after {\n a ") and "every" in _labels("loop { epoch { after {\n a ")


LOOP = "hook a = loss_log()\nloop { epoch { step { after {\n a every "
RUN = "trainer {\n    max_step = 100\n}\nhook a = log()\n"


def test_units_come_from_the_frequency_pass_and_each_one_compiles() -> None:
    epoch_phase = "hook a = loss_log()\nloop { epoch { after {\n a every "
    singular = _labels(LOOP) | _labels(epoch_phase)
    plural = _labels(LOOP + "10 ") | _labels(epoch_phase + "10 ")
    assert singular == {*UNITS, "batch"}  # the Plan's guard units, and the epoch's batches
    # every other spelling the frequency pass accepts for them
    assert plural == set(UNIT_SPELLINGS) - singular
    for frequency in [*singular, *(f"10 {u}" for u in plural)]:
        unit = UNIT_SPELLINGS[frequency.split()[-1]]
        scope = "epoch" if unit == "epoch" else "step"  # where a unit can count (HP007 elsewhere)
        attach = f"after {{ a every {frequency} }}"
        body = attach if scope == "epoch" else f"step {{ {attach} }}"
        plan = compile_text(f"{RUN}loop {{ epoch {{ {body} }} }}\n", "units.pipe")
        assert [e.guard.unit for e in plan.phase(scope, "after").entries] == [unit], frequency


def test_effect_kinds_are_the_compilers_and_the_grammars_keywords() -> None:
    head = "hook s = probes.Speed(window = 5) {\n    "
    assert _labels(head) == set(EFFECT_KINDS)
    assert set(EFFECT_KINDS) <= set(terminals().keywords)  # the grammar reserves each one
    assert _labels(head + f"{EFFECT_KINDS[0]} ") == set(RESOURCES)
    for kind in EFFECT_KINDS:
        text = f'{RUN}use probes = "m"\n{head}{kind} params\n}}\nloop {{ epoch {{ step {{ after {{ s }} }} }} }}\n'
        assert getattr(compile_text(text, "kinds.pipe").hook("s").effects, kind) == ("params",), kind


def test_hover_firings_of_the_epochs_batches_know_max_step_and_the_restart() -> None:
    from hookpipe.compiler.plan import Guard
    from hookpipe.lsp.hover import firings

    assert firings(Guard("batch", 3, 3), {"max_step": 10}) == (
        "Fires at step_id 2, 5, 8 of each epoch (the epoch's batches: `step_id` counts from 0 again at every epoch).")
    assert firings(Guard("batch", 20, 20), {"max_step": 10}) == (
        "Never fires in this run: the first firing is batch 20 of an epoch, beyond max_step = 10 (HP101).")
    # A validation run's batches are its loader's: max_step does not bound them.
    assert firings(Guard("batch", 20, 20), {"max_step": 10}, validation=True).startswith(
        "Fires at validation batch id 19, 39, 59")
