"""The judgement of each rule at its edges, beyond the fixture pairs."""

from __future__ import annotations

import pytest

from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.diagnostics import has_errors
from hookpipe.lint.rules import run_rules

HEAD = 'use my = "project.eval"\nhook optimize = optimizer()\n'


def findings(trainer: str, body: str, extra: str = "") -> list[tuple[str, int]]:
    """(code, line) of every rule finding; ``body`` goes inside ``step { after { optimize ... } }``."""
    text = f"trainer {{ {trainer} }}\n{HEAD}{extra}\nloop {{ epoch {{ step {{ after {{\n    optimize\n{body}\n}} }} }} }}\n"
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    assert not has_errors(ctx.diagnostics), ctx.diagnostics
    return [(d.code, d.span.line) for d in run_rules(ctx)]


SAVE = 'hook save = checkpoint(dir = "runs")\n'
RANKED = 'hook save = checkpoint(dir = "runs", monitor = "evaluate.loss")\n'  # records metrics (HP108)
EVAL = "hook evaluate = validation(callback = my.evaluate)\n"


def test_hp101_only_judges_units_the_settings_bound():
    assert findings("max_epoch = 3", "    save every 5000 steps", SAVE) == []  # steps unknown
    text = f"trainer {{ max_epoch = 3 }}\n{HEAD}{SAVE}loop {{ epoch {{ step {{ after {{ optimize }} }}\n" \
           "after { save every 4 epochs }\n} }\n"
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    assert [(d.code, d.span.line) for d in run_rules(ctx)] == [("HP101", 6)]
    assert findings("max_step = 100", "    save every 10 steps from 101", SAVE) == [("HP101", 8)]
    assert findings("max_step = 100", "    save every 10 steps from 100", SAVE) == []
    assert findings("max_step = 100", "    save every 200 updates", SAVE) == [("HP101", 8)]


def test_hp102_every_step_is_on_purpose_and_from_counts():
    g = "max_step = 100\n grad_accumulation = 4"
    assert findings(g, "    save every step", SAVE) == []
    assert findings(g, "    save every 8 steps", SAVE) == []
    assert findings(g, "    save every 8 steps from 6", SAVE) == [("HP102", 9)]
    assert findings("max_step = 100", "    save every 7 steps", SAVE) == []  # no accumulation


def test_hp102_reads_until_and_says_every_batch_in_the_singular():
    """A bound that ends before the first firing between updates leaves nothing to warn about."""
    g = "max_step = 100\n grad_accumulation = 4"
    assert findings(g, "    save every 3 steps from 4 until 6", SAVE) == []  # fires at step 4 only
    assert findings(g, "    save every 3 steps from 4 until 7", SAVE) == [("HP102", 9)]  # and at 7
    assert findings(g, "    save every 2 steps until 3", SAVE) == [("HP102", 9)]  # at 2
    text = (f"trainer {{ {g} }}\n{HEAD}{SAVE}\n"
            "loop { epoch { step { after {\n    optimize\n    save every batch from 3 until 9\n} } } }\n")
    (d,) = run_rules(run_passes(load_text(text, "t.pipe"), "t.pipe"))
    assert d.message.startswith("`save` fires every batch from batch 3 until batch 9, but") \
        and d.message.endswith("(first at batch 3)")


def test_hp102_recommends_updates_and_says_when_a_multiple_of_g_steps_drifts():
    """Windows restart at each epoch: `every 8 steps` under G = 4 is on updates only while epochs are multiples of 4."""
    text = (f"trainer {{ max_step = 100\n grad_accumulation = 4 }}\n{HEAD}{SAVE}\n"
            "loop { epoch { step { after {\n    optimize\n    save every 6 steps\n} } } }\n")
    (d,) = run_rules(run_passes(load_text(text, "t.pipe"), "t.pipe"))
    assert d.code == "HP102" and d.help == (
        "count in updates (`every 2 updates`); a multiple of 4 steps lines up with the updates only while each "
        "epoch's batch count is a multiple of 4 too (a window restarts at every epoch)")


def test_hp102_counts_the_epochs_batches_with_the_accumulation_windows():
    """The epoch's batches restart with the windows: a multiple of G batches is exact, another is not."""
    text = (f"trainer {{ max_step = 100\n grad_accumulation = 4 }}\n{HEAD}{SAVE}\n"
            "loop { epoch { step { after {\n    optimize\n    save every 6 batches\n} } } }\n")
    (d,) = run_rules(run_passes(load_text(text, "t.pipe"), "t.pipe"))
    assert d.code == "HP102" and d.message.startswith("`save` fires every 6 batches") and "(first at batch 6)" \
        in d.message
    assert d.help == "make it a multiple of 4 (`every 8 batches`): updates come at those batches"
    exact = text.replace("every 6 batches", "every 8 batches")
    assert run_rules(run_passes(load_text(exact, "t.pipe"), "t.pipe")) == []


def test_hp104_names_custom_hooks_without_declared_effects():
    text = ('use my = "p"\ntrainer { max_step = 10 }\nhook step = my.Stepper()\n'
            "loop { epoch { step { after { step } } } }\n")
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    (d,) = run_rules(ctx)
    assert (d.code, d.span.line, d.span.column) == ("HP104", 2, 1)
    assert [n.message for n in d.notes] == [
        "`step` declares no effects here; if it steps the optimizer, declare `writes params`"]
    declared = text.replace("my.Stepper()", "my.Stepper() { writes params }")
    assert run_rules(run_passes(load_text(declared, "t.pipe"), "t.pipe")) == []


def test_hp108_compares_frequencies_and_the_end_of_the_run():
    both = RANKED + EVAL
    assert findings("max_step = 1000", "    evaluate every 100 steps\n    save every 300 steps", both) == []
    assert findings("max_step = 1000", "    evaluate every 100 steps from 50\n    save every 300 steps", both) == \
        [("HP108", 10)]
    # `and at end` needs validation at the last step: known with max_step alone
    assert findings("max_step = 1000", "    evaluate every 100 steps\n    save every 300 steps and at end", both) == []
    assert findings("max_step = 1050", "    evaluate every 100 steps\n    save every 300 steps and at end", both) == \
        [("HP108", 10)]
    assert findings("max_epoch = 2", "    evaluate every 100 steps and at end\n    save every 300 steps and at end",
                    both) == []
    # updates are steps when nothing accumulates
    assert findings("max_step = 1000", "    evaluate every 100 updates\n    save every 300 steps", both) == []
    # nothing writes metrics: nothing can be stale (nor ranked: `monitor` needs a writer, HP002/HP003)
    assert findings("max_step = 1000", "    save every 300 steps", SAVE) == []


def test_hp108_leaves_a_checkpoint_that_ranks_by_nothing_alone():
    # Checkpoint every N steps for a crash, validate every epoch: the checkpoint records no metrics.
    text = (f"trainer {{ max_epoch = 10 }}\n{HEAD}{SAVE}{EVAL}"
            "loop {\n epoch {\n step { after { optimize\n save every 1000 steps } }\n after { evaluate }\n }\n}\n")
    assert [d.code for d in run_rules(run_passes(load_text(text, "t.pipe"), "t.pipe"))] == []
    ranked = text.replace(SAVE, RANKED)
    found = run_rules(run_passes(load_text(ranked, "t.pipe"), "t.pipe"))
    assert [d.code for d in found] == ["HP108"]
    assert found[0].message == ("checkpoint `save` records metrics at step 1000, where validation did not just run: "
                                "saved there, it is not ranked by `evaluate.loss`")


def test_hp108_a_final_checkpoint_is_covered_by_validation_of_the_last_epoch():
    def lint(validation: str) -> list[str]:
        text = (f"trainer {{ max_epoch = 4 }}\n{HEAD}{RANKED}{EVAL}"
                f"loop {{\n epoch {{ step {{ after {{ optimize }} }}\n after {{ {validation} }} }}\n"
                " after { save }\n}\n")
        return [d.code for d in run_rules(run_passes(load_text(text, "t.pipe"), "t.pipe"))]

    assert lint("evaluate") == []
    assert lint("evaluate every 2 epochs") == []  # fires at epoch 4, the last
    assert lint("evaluate every 3 epochs") == ["HP108"]
    assert lint("evaluate every 3 epochs and at end") == []


def test_hp109_covers_validation_too():
    assert findings("max_step = 10", "    evaluate on main", EVAL) == [("HP109", 8)]


def test_hp105_and_hp106_accept_ordered_writers_and_nested_wrappers():
    extra = "hook a = my.A() { writes ema }\nhook b = my.B() { writes ema }\n"
    assert findings("max_step = 10", "    a -> b", extra) == []
    text = (f"trainer {{ max_step = 10 }}\n{HEAD}hook t = my.T()\nhook p = my.P()\n"
            "loop { before { t -> p }\n after { p -> t }\n epoch { step { after { optimize } } } }\n")
    assert run_rules(run_passes(load_text(text, "t.pipe"), "t.pipe")) == []


def test_a_validation_runs_batches_are_judged_by_neither_hp101_nor_hp102():
    """Its batches are its loader's: no optimizer update among them, and no trainer setting bounds them."""
    text = (f"trainer {{ max_step = 1_000\n grad_accumulation = 4 }}\n{HEAD}"
            'hook evaluate = validation(callback = my.evaluate, dataloader = my.loader())\nhook show = my.Show()\n'
            "loop { epoch { step { after {\n    optimize\n    evaluate every 200 updates\n} } } }\n"
            "validation evaluate { batch { after {\n    show every 50 batches\n    show every 5000 batches\n} } }\n")
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    assert not has_errors(ctx.diagnostics), ctx.diagnostics
    assert [d.code for d in run_rules(ctx) if d.code in ("HP101", "HP102")] == []
    # The same frequencies on the training step's batches are judged.
    training = text.replace("    evaluate every 200 updates\n", "    evaluate every 200 updates\n    evaluate every 50 batches\n"
                            "    evaluate every 5000 batches\n")
    codes = sorted(d.code for d in run_rules(run_passes(load_text(training, "t.pipe"), "t.pipe"))
                   if d.code in ("HP101", "HP102"))
    assert codes == ["HP101", "HP102"]  # 5000 is past max_step; 50 is not a multiple of 4


@pytest.mark.parametrize(("body", "where"), [
    ("    evaluate every batch\n    save every 4 batches and at end", None),  # validated at every step
    ("    evaluate every batch\n    save", None),
    ("    evaluate every step\n    save every 4 batches", None),
    ("    evaluate every 4 batches\n    save every 8 batches", None),
    ("    evaluate every 4 batches and at end\n    save every 4 batches and at end", None),
    ("    evaluate every 4 batches\n    save every 6 batches", "batch 6"),
    ("    evaluate every 4 batches\n    save every 4 batches and at end", "the last batch of an epoch"),
    ("    evaluate every 4 batches\n    save every 6 steps", "step 6"),  # stale in the first epoch already
    ("    evaluate every 4 batches\n    save every 4 steps", "a step of a later epoch (its steps and the "
     "validation's batches count alike only in the first epoch, unless every epoch's length is a multiple of 4)"),
])
def test_hp108_compares_the_epochs_batches_with_steps_and_itself(body: str, where: str | None) -> None:
    text = f"trainer {{ max_step = 1000 }}\n{HEAD}{RANKED}{EVAL}\nloop {{ epoch {{ step {{ after {{\n    optimize\n" \
           f"{body}\n}} }} }} }}\n"
    found = [d.message for d in run_rules(run_passes(load_text(text, "t.pipe"), "t.pipe")) if d.code == "HP108"]
    assert found == ([] if where is None else [f"checkpoint `save` records metrics at {where}, where validation did "
                                                "not just run: saved there, it is not ranked by `evaluate.loss`"])


def test_hp102_leaves_hooks_that_touch_no_model_state_alone():
    """A logger between updates records a micro-batch (as MMEngine's LoggerHook does); a hook of unknown effects is judged."""
    g = 'max_step = 100\n grad_accumulation = 4\n log_with = ["csv"]'
    assert findings(g, "    publish every 50 steps", 'hook publish = log()\n') == []
    assert findings(g, "    mine every 50 steps", 'hook mine = my.Probe()\n') == [("HP102", 10)]
    assert findings(g, "    mine every 50 steps", 'hook mine = my.Probe() { reads loss }\n') == []
    assert findings(g, "    mine every 50 steps", 'hook mine = my.Probe() { reads params }\n') == [("HP102", 10)]
