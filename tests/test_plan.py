"""Plans: plain data, JSON round trip, stable content hash, determinism across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hookpipe.compiler import Plan, compile_file, compile_text
from tests.helpers import ROOT

DIGITS = ROOT / "examples" / "digits" / "train.pipe"


def test_json_round_trip() -> None:
    plan = compile_file(DIGITS)
    again = Plan.from_json(plan.to_json())
    assert again == plan
    assert again.to_json() == plan.to_json()
    assert again.content_hash == plan.content_hash


def test_same_input_same_bytes() -> None:
    assert compile_file(DIGITS).to_json() == compile_file(DIGITS).to_json()


def test_plan_content_of_the_digits_example() -> None:
    plan = compile_file(DIGITS)
    data = json.loads(plan.to_json())
    assert data["name"] == "digits"
    assert data["trainer"]["model"] == {"$call": "examples.digits.train:build_model", "args": {"hidden": 64}}
    assert data["trainer"]["optimizer"] == {"$call": "torch.optim.AdamW", "args": {"lr": 0.001}}
    evaluate = plan.hook("evaluate")
    assert evaluate.builtin and evaluate.args["callback"] == {"$ref": "examples.digits.train:evaluate"}
    speed = plan.hook("speed")
    assert (speed.type, speed.builtin, speed.args, speed.effects.reads) == (
        "examples.digits.train:Throughput", False, {"window": 50}, ("time",))
    after = plan.phase("step", "after").entries
    assert [(e.hook, e.callback, e.guard.describe(), e.main_only, e.span.line) for e in after] == [
        ("clip", "on_step_end", "", False, 30),
        ("optimize", "on_step_end", "", False, 30),
        ("evaluate", "on_step_end", "every 200 steps", False, 31),
        ("save", "on_step_end", "every 400 steps", False, 32),
        ("speed", "on_step_end", "every 50 steps", True, 33),
    ]
    assert [e.hook for e in plan.phase("loop", "before").entries] == ["evaluate"]
    assert [(e.hook, e.guard.unit, e.span.line) for e in plan.phase("loop", "after").entries] == [("save", None, 38)]
    assert [(e.hook, e.guard.unit, e.guard.every) for e in plan.phase("epoch", "after").entries] == [
        ("evaluate", "epoch", 1)]
    assert [p.key for p in plan.phases][:3] == ["loop.before", "epoch.before", "step.before"]


def test_hash_ignores_layout_but_not_meaning() -> None:
    text = 'trainer {\n    max_step = 10\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n'
    spaced = '\n\n# comment\ntrainer {\n  max_step   =   10\n}\n\nhook o = optimizer( )\nloop {\n epoch {\n  step {\n   after {\n    o\n   }\n  }\n }\n}\n'
    assert compile_text(text, "a.pipe").content_hash == compile_text(spaced, "b.pipe").content_hash
    changed = text.replace("max_step = 10", "max_step = 11")
    assert compile_text(text, "a.pipe").content_hash != compile_text(changed, "a.pipe").content_hash


@pytest.mark.slow
def test_identical_across_processes_with_different_hash_seeds() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        code = "import hookpipe,sys; sys.stdout.write(hookpipe.compile_file(sys.argv[1]).to_json())"
        result = subprocess.run([sys.executable, "-c", code, str(ROOT / "examples" / "all_scopes.pipe")],
                                capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1
