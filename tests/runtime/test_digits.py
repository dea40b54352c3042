"""The digits example trains, and `run_file` reports success and mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.digits import train as digits
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.run import run_file
from tests.helpers import ROOT
from tests.runtime.planbuild import digits_plan


def test_one_epoch_of_digits_reaches_a_plausible_accuracy(tmp_path: Path) -> None:
    trainer = HookBasedTrainer.from_plan(digits_plan(str(tmp_path / "ckpt")), max_epoch=1)
    trainer()
    history = trainer.hook_instances["evaluate"].history
    # loop.before (untrained), then the end of epoch 1 (45 steps of 32 images).
    assert [steps for steps, _ in history] == [0, 45]
    before, after = history[0][1]["accuracy"], history[1][1]["accuracy"]
    assert before < 0.3 and 0.6 < after <= 1.0
    assert digits.evaluate(trainer._get_hook_args())["accuracy"] == pytest.approx(after)
    assert (tmp_path / "ckpt" / "step-00000045").is_dir()  # `save ... and at end`
    x, y = digits.held_out()
    assert x.shape == (360, 64) and len(y) == 360


def test_run_file_trains_from_a_saved_plan_and_summarises(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    plan_file = tmp_path / "digits.json"
    plan_file.write_text(digits_plan(str(tmp_path / "ckpt")).to_json(), encoding="utf-8")
    assert run_file(str(plan_file), ["trainer.max_step=10"], None) == 0
    out = capsys.readouterr().out
    assert "digits.json: 10 steps, 1 epochs" in out and "checkpoint " in out
    assert run_file(str(plan_file), ["trainer.max_step=12"], "latest") == 0
    assert "digits.json: 12 steps" in capsys.readouterr().out


def test_run_file_reports_user_mistakes_in_one_paragraph(tmp_path: Path, capsys) -> None:
    plan_file = tmp_path / "digits.json"
    plan_file.write_text(digits_plan(str(tmp_path / "ckpt")).to_json(), encoding="utf-8")
    assert run_file(str(plan_file), ["trainer.model=examples.digits.train.no_such_model"], None) == 1
    err = capsys.readouterr().err  # --set is plain data: a factory is named only by the .pipe file
    assert "names code" in err and "Traceback" not in err
    assert run_file(str(plan_file), ["oops"], None) == 1
    assert "--set expects key=value" in capsys.readouterr().err
    assert run_file(str(plan_file), [], "latest") == 1
    assert "no complete checkpoint" in capsys.readouterr().err


def test_the_example_file_compiles_and_trains_through_from_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    trainer = HookBasedTrainer.from_file(
        "examples/digits/train.pipe",
        {"trainer.max_step": "20", "hook.save.dir": str(tmp_path / "ckpt"), "hook.speed.window": "10"},
    )
    assert list(trainer.hook_instances) == ["clip", "optimize", "evaluate", "save", "speed"]
    assert [c.hook for c in trainer.hooks.hooks["on_step"].afters] == ["clip", "optimize", "evaluate", "save", "speed"]
    trainer()
    assert trainer.trainer_progress_state.global_step_id == 20
    assert trainer.hook_instances["speed"].window == 10
    assert (tmp_path / "ckpt" / "step-00000020").is_dir()
