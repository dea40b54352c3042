"""`explain --steps N` on a file whose own run is longer: the first N steps of that run, not a run of N steps.

A user asked for 30 of the 135 steps `max_epoch = 3` makes at 45 steps per
epoch and got `at end` firings and an `epoch.after` at step 30, where the real
run is still in its first epoch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookpipe.commands import explain
from hookpipe.compiler import compile_text
from hookpipe.compiler.schedule import Firing, simulate
from tests.helpers import run_cli

#: The user's file: 45 batches per epoch make 12 updates per epoch (the last batch always updates).
FREQ = """trainer {
    max_epoch         = 3
    grad_accumulation = 4
}
hook optimize = optimizer()
hook evaluate = validation(callback = "mypkg.evaluate")
hook save     = checkpoint(dir = "runs/f1")
loop {
    epoch {
        step {
            after {
                optimize
                evaluate every 5 updates and at end
            }
        }
        after { save every 2 epochs and at end }
    }
}
"""

NOTE = ("the table stops at step 30, before the run ends at step 135 (max_epoch = 3, 45 steps per epoch): "
        "what fires after it, `at end` firings included, is not listed")


@pytest.fixture
def freq(tmp_path: Path) -> Path:
    path = tmp_path / "f1_freq.pipe"
    path.write_text(FREQ, encoding="utf-8")
    return path


def test_steps_shorter_than_the_run_list_no_end_that_has_not_happened(freq: Path) -> None:
    done = run_cli("explain", str(freq), "--steps", "30", "--steps-per-epoch", "45")
    assert done.code == 0 and done.err == ""
    lines = done.out.splitlines()
    evaluations = [line.split()[0] for line in lines if "evaluate" in line]
    assert evaluations == ["20"]  # update 5; update 7 (step 28) is not the run's end
    assert not any("epoch.after" in line or "loop.after" in line for line in lines)  # epoch 0 ends at step 45
    assert lines[-1] == f"# {NOTE}"
    assert sum(line.startswith("#") for line in lines) == 1


def test_json_lists_the_same_window_and_says_so_on_stderr(freq: Path) -> None:
    done = run_cli("explain", str(freq), "--steps", "30", "--steps-per-epoch", "45", "--json")
    assert done.code == 0
    events = json.loads(done.out)
    whole = simulate(compile_text(FREQ), 135, 45, acting=True)
    assert events == [f.to_json() for f in whole[:len(events)]]  # the start of the real run...
    following = whole[len(events)].step
    assert following is not None and following >= 30  # ...up to its 30th step (id 29)
    assert done.err == f"hookpipe explain: {NOTE}\n"


def test_steps_per_epoch_alone_lists_the_whole_run_the_file_describes(freq: Path) -> None:
    derived = run_cli("explain", str(freq), "--steps-per-epoch", "45")
    explicit = run_cli("explain", str(freq), "--steps", "135", "--steps-per-epoch", "45")
    assert derived.code == 0 and derived.err == ""
    assert derived.out == explicit.out
    lines = derived.out.splitlines()
    assert lines[-1] == "      -      2  epoch.after       save"  # the last epoch: `and at end`
    assert "134-135      2  step.after        optimize, evaluate" in lines
    as_json = run_cli("explain", str(freq), "--steps-per-epoch", "45", "--json")
    assert as_json.code == 0 and len(json.loads(as_json.out)) == len(simulate(compile_text(FREQ), 135, 45,
                                                                                acting=True))


def test_steps_per_epoch_alone_takes_max_step_when_it_ends_the_run_first(tmp_path: Path) -> None:
    path = tmp_path / "short.pipe"
    path.write_text(FREQ.replace("max_epoch         = 3", "max_epoch         = 3\n    max_step = 50"),
                    encoding="utf-8")
    done = run_cli("explain", str(path), "--steps-per-epoch", "45", "--json")
    assert done.code == 0 and done.err == ""
    events = json.loads(done.out)
    assert events == [f.to_json() for f in simulate(compile_text(path.read_text()), 50, 45, acting=True)]
    assert (events[-1]["phase"], events[-1]["hook"], events[-1]["epoch"]) == ("epoch.after", "save", 1)  # at end


def test_json_alone_still_needs_a_length() -> None:
    done = run_cli("explain", "examples/digits/train.pipe", "--json")
    assert done.code == 2 and "--json needs --steps N" in done.err


@pytest.mark.parametrize("window", [1, 3, 4, 5, 8, 9, 11, 12])
def test_a_window_is_the_start_of_the_whole_run(window: int) -> None:
    """Whatever the window, it lists the whole run's firings up to the end of its last step."""
    plan = compile_text("trainer { max_step = 12 }\nhook o = optimizer()\n"
                        'hook e = validation(callback = "m.f")\n'
                        "loop {\n before { e }\n epoch {\n step { after { o every 2 steps and at end } }\n"
                        " after { e every epoch and at end }\n }\n after { e }\n}\n")
    whole = simulate(plan, 12, 4)
    shown = simulate(plan, 12, 4, window=window)
    assert shown == whole[:len(shown)]
    rest = whole[len(shown):]
    assert all(_after(f, window) for f in rest)
    assert all(not _after(f, window) for f in shown)


def _after(f: Firing, window: int) -> bool:
    """Whether ``f`` happens after the first ``window`` steps of a 12-step run of 4-step epochs."""
    if f.step is not None:
        return f.step >= window
    if f.scope == "epoch" and f.epoch is not None:
        return (f.epoch + 1) * 4 > window if f.phase == "after" else f.epoch * 4 >= window
    return f.phase == "after" and window < 12


def test_a_run_longer_than_the_limit_is_listed_up_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain, "MAX_STEPS", 100)
    span = explain.plan_span({"max_epoch": 1000}, None, 45)
    assert isinstance(span, explain.Span)
    assert (span.run, span.per_epoch, span.window) == (45_000, 45, 100)
    assert span.note is not None and span.note.startswith("the table stops at step 100, before the run ends at "
                                                          "step 45,000 (max_epoch = 1000, 45 steps per epoch)")


def test_a_plan_without_a_length_runs_n_steps_and_cannot_derive_one() -> None:
    # Every .pipe file sets one (HP008); a plan built another way may not.
    assert explain.plan_span({}, 30, 45) == explain.Span(30, 45)
    assert explain.plan_span({}, None, 45) == ("--steps-per-epoch needs --steps N here: the file sets neither "
                                               "max_epoch nor max_step")
    assert explain.plan_span({"max_epoch": 3}, 135, 45) == explain.Span(135, 45)  # exactly the run: no note


def test_the_pseudo_code_says_which_hooks_act_on_updates_only_under_accumulation() -> None:
    """Under `grad_accumulation = 4` clipping and the optimizer skip three steps in four: the listing says so."""
    from hookpipe.compiler import compile_text
    from hookpipe.compiler.explain import explain_plan

    text = ("trainer {\n    max_step = 8\n    grad_accumulation = G\n}\nhook clip = grad_clip(max_norm = 1.0)\n"
            "hook optimize = optimizer()\nhook save = checkpoint(dir = \"x\")\n"
            "loop { epoch { step { after {\n    clip -> optimize\n    save every 4 steps\n} } } }\n")
    rows = {line.split()[0]: line for line in explain_plan(compile_text(text.replace("G", "4"))).splitlines()
            if line.strip().startswith(("clip ", "optimize ", "save "))}
    assert "on updates" in rows["clip"] and "on updates" in rows["optimize"] and "on updates" not in rows["save"]
    plain = explain_plan(compile_text(text.replace("G", "1")))
    assert "on updates" not in plain  # every step is an update: nothing to say
