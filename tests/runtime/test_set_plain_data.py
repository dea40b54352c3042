"""``--set`` takes plain data: it can never name code to run, and its numbers are bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.plan.overrides import apply_overrides, parse_override_value
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import digits_plan

ROOT = Path(__file__).resolve().parents[2]


def test_a_call_given_on_the_command_line_is_refused_and_nothing_runs(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    plan_file = tmp_path / "digits.json"
    plan_file.write_text(digits_plan(str(tmp_path / "ckpt")).to_json(), encoding="utf-8")
    witness = tmp_path / "pwned"
    value = json.dumps({"$call": "os:system", "args": {"command": f"touch {witness}"}})
    assert run_file(str(plan_file), [f"trainer.model={value}"], None) == 1
    err = capsys.readouterr().err
    assert "`$call` is not allowed; --set takes plain data" in err and "Traceback" not in err
    assert not witness.exists()


@pytest.mark.parametrize("key, value, message", [
    ("trainer.max_step", '{"$call": "os:system", "args": {"command": "id"}}', "`$call` is not allowed"),
    ("hook.clip.max_norm", '[1, {"$ref": "os:system"}]', "`$ref` is not allowed"),
    ("trainer.model", "os:getcwd", "this names code"),
    ("trainer.optimizer", "torch.optim.SGD", "this names code"),
    ("trainer.dataloader.$call", "os:getcwd", "this names code"),
    ("hook.evaluate.callback", "os:getcwd", "`callback` of hook 'evaluate' names code"),
    ("trainer.max_step", "9" * 5000, "is out of range"),
    ("trainer.max_step", "1e999", "is out of range"),
    ("trainer.max_step", "[1e999]", "is out of range"),
    ("trainer.max_step", "[" * 100_000, "cannot read override value"),
])
def test_values_that_name_code_or_overflow_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(PlanResolveError, match=message.replace("$", r"\$").replace("[", r"\[").replace("(", r"\(")):
        apply_overrides(digits_plan(), {key: value})


def test_plain_data_still_overrides() -> None:
    plan = apply_overrides(digits_plan(), {"trainer.max_step": "9_223_372_036_854_775_807",
                                           "trainer.dataloader.args.batch_size": "64",
                                           "hook.save.dir": "runs/other"})
    assert plan.trainer["max_step"] == 2**63 - 1 and plan.trainer["dataloader"]["args"]["batch_size"] == 64
    assert plan.hook("save").args["dir"] == "runs/other"
    assert parse_override_value('{"a": [1, "x", true, null]}') == {"a": [1, "x", True, None]}
