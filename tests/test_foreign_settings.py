"""Lightning's and MMEngine's trainer settings get a help line saying what they become, not a spelling fix."""

from __future__ import annotations

import pytest

from hookpipe.compiler.foreign_settings import FOREIGN_SETTINGS
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.compiler.settings import TrainerSettings


def _help(name: str) -> str | None:
    text = f"trainer {{\n    max_epoch = 2\n    {name} = 4\n}}\nhook o = optimizer()\n" \
           "loop { epoch { step { after { o } } } }\n"
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    assert d.code == "HP003" and d.message == f"unknown trainer setting `{name}`" and d.span.line == 3
    return d.help


@pytest.mark.parametrize("name", sorted(FOREIGN_SETTINGS))
def test_another_trainer_s_setting_says_whose_it_is_and_what_to_write(name: str) -> None:
    assert name not in TrainerSettings.model_fields
    whose, said = FOREIGN_SETTINGS[name]
    tools = " or ".join(f"`hookpipe import {tool.lower()}`" for tool in whose.split(" and "))
    assert _help(name) == f"{whose}'s `{name}`: {said} ({tools} converts a whole config)"


def test_a_name_both_trainers_use_names_both() -> None:
    assert _help("max_epochs") == ("Lightning and MMEngine's `max_epochs`: write `max_epoch` (`hookpipe import "
                                   "lightning` or `hookpipe import mmengine` converts a whole config)")


def test_max_steps_is_not_just_a_misspelling_of_max_step() -> None:
    """The spelling is one letter off; the unit is not: Lightning counts optimizer steps."""
    help_text = _help("max_steps")
    assert help_text is not None and "counts optimizer steps, hookpipe's `max_step` counts batches" in help_text
    assert _help("max_stepz") == "did you mean `max_step`?"


def test_a_boolean_is_not_an_integer_setting() -> None:
    """`seed = true` was seed 1: pydantic's lax integers take booleans."""
    text = "trainer {\n    max_epoch = 2\n    seed = true\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n"
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    assert [(d.code, d.message) for d in ctx.diagnostics] == [
        ("HP003", "invalid `seed` of the trainer: expected an integer, got true")]
    assert TrainerSettings.model_validate({"max_step": 1e3}).max_step == 1000  # a whole float is still a count


def test_val_check_interval_points_at_the_epochs_batches_as_lightning_counts_them() -> None:
    help_text = _help("val_check_interval")
    assert help_text is not None and "`evaluate every 500 batches` in `step { after { } }`" in help_text
    log_help = _help("log_every_n_steps")
    assert log_help is not None and "`every N updates`" in log_help and "after each validation" in log_help
