"""``run.updates`` and friends in the language: parsed, checked, linted, formatted, kept in the Plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookpipe.cli import main
from hookpipe.compiler import compile_text
from hookpipe.compiler.run_values import RunSize, count_updates, run_steps, substitute
from hookpipe.dsl import ast
from hookpipe.dsl.formatter import format_text
from hookpipe.dsl.parser import parse_text

PIPE = """trainer {
    max_epoch = 3
    lr_scheduler = "torch.optim.lr_scheduler.OneCycleLR"(max_lr = 0.1, total_steps = run.updates)
}
hook optimize = optimizer()
hook save     = checkpoint(dir = "runs/x", keep_last = run.num_processes)
loop {
    epoch {
        step {
            after { optimize }
        }
    }
    after { save }
}
"""


def test_a_run_value_parses_to_its_own_node() -> None:
    trainer = parse_text(PIPE, "x.pipe").file.items[0]
    call = trainer.settings[1].value
    assert call.args[1].value == ast.RunValue("updates", call.args[1].value.span)
    assert (call.args[1].value.span.line, call.args[1].value.span.column) == (3, 86)


def test_the_plan_keeps_run_values_by_name() -> None:
    plan = compile_text(PIPE, "x.pipe")
    assert plan.trainer["lr_scheduler"]["args"]["total_steps"] == {"$run": "updates"}
    assert plan.hook("save").args == {"dir": "runs/x", "keep_last": {"$run": "num_processes"}, "safe_serialization": True,
                                      "monitor": None, "mode": "min", "keep_best": None, "asynchronous": True}
    assert '"$run": "updates"' in plan.to_json()


def test_formatting_keeps_run_values_and_the_hash() -> None:
    assert format_text(PIPE, "x.pipe").text == PIPE
    squeezed = PIPE.replace("total_steps = run.updates", "total_steps=run.updates")
    assert compile_text(squeezed, "y.pipe").content_hash == compile_text(PIPE, "x.pipe").content_hash


def test_check_and_lint_accept_run_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.pipe"
    path.write_text(PIPE, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "x.pipe: ok (plan " in capsys.readouterr().out
    assert main(["lint", str(path), "--format", "json", "--warnings-as-errors"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["diagnostics"] == [] and report["summary"]["files"] == 1


def test_lint_reports_a_misspelt_run_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.pipe"
    path.write_text(PIPE.replace("run.updates", "run.upates"), encoding="utf-8")
    assert main(["lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert "x.pipe:3:86: HP002 error: unknown run-time value `run.upates`" in out
    assert "did you mean `run.updates`?" in out


def test_the_size_of_a_run() -> None:
    assert run_steps(None, 2, 10) == 20 and run_steps(15, 2, 10) == 15 and run_steps(15, None, None) == 15
    assert count_updates(20, 10, 4) == 6  # per epoch: after batches 4, 8 and 10
    assert count_updates(15, 10, 4) == 4  # the second epoch stops inside a window: no partial update
    assert count_updates(None, 10, 4) is None
    size = RunSize.of(None, 2, 10, 4, 2)
    assert (size.steps, size.updates, size.steps_per_epoch, size.num_processes) == (20, 6, 10, 2)
    assert substitute({"a": [{"$run": "updates"}], "b": {"$run": "num_processes"}}, size, "x") == {"a": [6], "b": 2}


def test_a_resumed_run_s_size_is_what_is_done_plus_what_is_left() -> None:
    # From any position of an uninterrupted run, the whole run's size is the one it had from the start.
    for spe, acc, max_epoch, max_step in [(1, 1, 3, None), (5, 2, 3, None), (7, 3, None, 11), (5, 2, 3, 11)]:
        whole = RunSize.of(max_step, max_epoch, spe, acc, 1)
        epoch = step = steps = updates = 0
        while True:
            assert RunSize.resumed((epoch, step, steps, updates), max_step, max_epoch, spe, acc, 1) == whole
            if (max_step is not None and steps >= max_step) or (max_epoch is not None and epoch >= max_epoch):
                break
            updates += (step + 1) % acc == 0 or step + 1 == spe
            steps, step = steps + 1, step + 1
            if step == spe:
                epoch, step = epoch + 1, 0
    # 2 epochs of 45 batches done with accumulation 2 (46 updates); 2 more epochs with accumulation 4: 12 each.
    assert RunSize.resumed((2, 0, 90, 46), None, 4, 45, 4, 1) == RunSize(180, 70, 45, 1)
    # A batch size doubled mid-epoch: the position (30) is past the new epoch's end (22); the next epoch starts.
    assert RunSize.resumed((0, 30, 30, 15), None, 2, 22, 2, 1) == RunSize(52, 26, 22, 1)
