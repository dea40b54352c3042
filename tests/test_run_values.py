"""``run.updates`` and friends in the language: parsed, checked, linted, formatted, kept in the Plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookpipe.cli import main
from hookpipe.compiler import compile_text
from hookpipe.compiler.run_values import RECORDED, RUN_VALUES, RunSize, count_updates, run_steps, substitute
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
    # run.updates_per_epoch is today's epoch: ceil(45 / 4).
    assert RunSize.resumed((2, 0, 90, 46), None, 4, 45, 4, 1) == RunSize(180, 70, 45, 1, 12)
    # A batch size doubled mid-epoch: the position (30) is past the new epoch's end (22); the next epoch starts.
    assert RunSize.resumed((0, 30, 30, 15), None, 2, 22, 2, 1) == RunSize(52, 26, 22, 1, 11)


@pytest.mark.parametrize(("steps_per_epoch", "accumulation", "expected"), [
    (10, 1, 10), (10, 2, 5), (10, 4, 3), (9, 4, 3), (8, 4, 2), (3, 4, 1), (1, 8, 1),
])
def test_updates_per_epoch_is_accelerate_s_count_of_one_epoch(steps_per_epoch: int, accumulation: int,
                                                              expected: int) -> None:
    """ceil(steps_per_epoch / accumulation): a window of `accumulation` batches ends with an update, and the
    epoch's last batch ends a shorter one; so it is what count_updates gives one whole epoch."""
    size = RunSize.of(None, 3, steps_per_epoch, accumulation, 2)
    assert size.updates_per_epoch == expected == count_updates(steps_per_epoch, steps_per_epoch, accumulation)
    assert size.updates == 3 * expected  # whole epochs: the run's updates are its epochs' updates
    assert substitute({"every": {"$run": "updates_per_epoch"}}, size, "x") == {"every": expected}
    # a `max_step` run's epochs are the same; a dataloader without a length gives no number
    assert RunSize.of(7, None, steps_per_epoch, accumulation, 1).updates_per_epoch == expected
    assert RunSize.of(7, None, None, accumulation, 1).updates_per_epoch is None
    # resumed, it is today's epoch, as run.steps_per_epoch is
    assert RunSize.resumed((1, 0, 20, 9), None, 3, steps_per_epoch, accumulation, 1).updates_per_epoch == expected


def test_updates_per_epoch_that_the_run_cannot_know_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"hook 's': run.updates_per_epoch is not known: the dataloader has no"):
        substitute({"$run": "updates_per_epoch"}, RunSize.of(None, 3, None, 4, 1), "hook 's'")


def test_a_checkpoint_records_the_values_updates_per_epoch_follows_from() -> None:
    """run.updates_per_epoch follows from steps_per_epoch and grad_accumulation, whose changes a resume reports;
    it is not recorded, so a checkpoint written before it existed does not read as a changed run."""
    assert set(RUN_VALUES) == {*RECORDED, "updates_per_epoch"}
    assert RunSize.of(None, 2, 10, 4, 1).as_dict() == {"updates": 6, "steps": 20, "steps_per_epoch": 10,
                                                       "num_processes": 1}


def test_the_compiler_accepts_updates_per_epoch_and_keeps_it_by_name(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = PIPE.replace('"torch.optim.lr_scheduler.OneCycleLR"(max_lr = 0.1, total_steps = run.updates)',
                        '"torch.optim.lr_scheduler.StepLR"(step_size = run.updates_per_epoch)')
    assert "run.updates_per_epoch" in text
    plan = compile_text(text, "x.pipe")
    assert plan.trainer["lr_scheduler"]["args"]["step_size"] == {"$run": "updates_per_epoch"}
    path = tmp_path / "x.pipe"
    path.write_text(text, encoding="utf-8")
    assert main(["lint", str(path), "--warnings-as-errors"]) == 0
    path.write_text(text.replace("run.updates_per_epoch", "run.update_per_epoch"), encoding="utf-8")
    assert main(["lint", str(path)]) == 1
    assert "did you mean `run.updates_per_epoch`?" in capsys.readouterr().out
