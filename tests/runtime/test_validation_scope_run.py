"""``validation NAME { before { } batch { } after { } }`` at run time: the hooks run inside the validation loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.errors import HookFailure
from tests.runtime.planbuild import tiny_trainer_text

#: 13 validation samples in batches of 4: batch ids 0..3, the last one of 1 sample.
PIPE = """pipeline "vscope"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
use s = "tests.runtime.test_validation_scope_run"

""" + tiny_trainer_text(n=8, max_step=4, seed=0, progress=False) + """
hook optimize = optimizer()
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader(n = 13, batch_size = 4))
hook spy      = s.Spy()
hook tail     = s.Spy()

loop {
    epoch {
        step {
            after {
                optimize
                evaluate every 2 steps
            }
        }
    }
}

validation evaluate {
    before { spy }
    batch {
        before { spy }
        after {
            spy every 2 batches
            tail every 3 batches and at end
        }
    }
    after { spy }
}
"""

EVENTS: list[tuple[Any, ...]] = []


class Spy:
    """Records what each validation-scope callback is given."""

    def on_validation_begin(self, args: PipelineHookArgs) -> None:
        EVENTS.append(("begin", args.global_step_id, args.model is not None and args.model.training))

    def on_validation_batch_begin(self, args: PipelineHookArgs) -> None:
        EVENTS.append(("batch_begin", args.step_id, len(args.batch[0])))

    def on_validation_batch_end(self, args: PipelineHookArgs) -> None:
        EVENTS.append((f"batch_end:{id(self) == id(TAIL[0]) if TAIL else False}", args.step_id,
                       sorted(args.model_outputs)))

    def on_validation_end(self, args: PipelineHookArgs) -> None:
        EVENTS.append(("end", args.batch, sorted(args.model_outputs)))


TAIL: list[Any] = []


class Boom(Spy):
    def on_validation_batch_end(self, args: PipelineHookArgs) -> None:
        raise RuntimeError("boom in batch 1") if args.step_id == 1 else None


def _trainer(text: str) -> HookBasedTrainer:
    EVENTS.clear()
    TAIL.clear()
    trainer = HookBasedTrainer.from_plan(compile_text(text, "vscope.pipe"))
    TAIL.append(trainer.hook_instances["tail"])
    return trainer


def test_hooks_fire_per_validation_batch_at_the_right_ids_and_once_around(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    trainer = _trainer(PIPE)
    trainer()
    evaluate = trainer.hook_instances["evaluate"]
    assert len(evaluate.history) == 2  # steps 2 and 4
    one_run = [
        ("begin", None, False),  # model in eval mode already
        ("batch_begin", 0, 4),
        ("batch_begin", 1, 4),
        ("batch_end:False", 1, ["close", "mse"]),  # spy every 2 batches: (1 + 1) % 2 == 0
        ("batch_begin", 2, 4),
        ("batch_end:True", 2, ["close", "mse"]),  # tail every 3 batches
        ("batch_begin", 3, 1),
        ("batch_end:False", 3, ["close", "mse"]),  # spy again
        ("batch_end:True", 3, ["close", "mse"]),  # tail: and at end (the loader's last batch)
        ("end", None, ["close", "mse"]),
    ]
    assert [e if e[0] != "begin" else ("begin", None, e[2]) for e in EVENTS] == one_run * 2
    assert [e[1] for e in EVENTS if e[0] == "begin"] == [1, 3]  # global_step_id: the training step that validates


def test_after_sees_the_metrics_the_hook_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = PIPE.replace("hook tail     = s.Spy()", "hook tail     = s.Spy()\nhook publish  = s.Publish()") \
        .replace("after { spy }\n}", "after { spy -> publish }\n}")
    PUBLISHED.clear()
    trainer = _trainer(text)
    trainer()
    history = [m for _, m in trainer.hook_instances["evaluate"].history]
    assert PUBLISHED == history and len(PUBLISHED) == 2 and set(PUBLISHED[0]) == {"mse", "close"}


PUBLISHED: list[dict[str, float]] = []


class Publish:
    def on_validation_end(self, args: PipelineHookArgs) -> None:
        PUBLISHED.append(dict(args.model_outputs))


def test_an_error_inside_a_validation_batch_names_the_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    trainer = _trainer(PIPE.replace("hook spy      = s.Spy()", "hook spy      = s.Boom()"))
    with pytest.raises(HookFailure) as err:
        trainer()
    assert err.value.hook == "spy" and "boom in batch 1" in str(err.value.__cause__)
    model = trainer.hook_instances["evaluate"]
    assert model.history == []  # the evaluation did not finish


def test_profile_rows_name_the_validation_scopes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hookpipe.runtime.tracking.profiler import Profiler

    monkeypatch.chdir(tmp_path)
    plan = compile_text(PIPE, "vscope.pipe")
    rows = {(r.scope, r.phase, r.hook) for r in Profiler(plan).report(1.0, 1, 1).entries}
    assert ("validation[evaluate].batch", "after", "tail") in rows
    assert ("validation[evaluate]", "before", "spy") in rows
    assert not any(scope == "batch" for scope, _, _ in rows)  # never mistaken for the training batch scope


class Swap:
    """A custom bracket: records its enter and exit around what it brackets."""

    def enter(self, args: PipelineHookArgs) -> None:
        EVENTS.append(("enter", args.step_id))

    def exit(self, args: PipelineHookArgs) -> None:
        EVENTS.append(("exit", args.step_id))


def test_a_bracket_inside_a_validation_batch_runs_only_where_its_contents_fire(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = PIPE.replace("hook tail     = s.Spy()", "hook tail     = s.Spy()\nhook swap     = s.Swap()") \
        .replace("            spy every 2 batches\n", "            with swap { spy every 2 batches }\n")
    trainer = _trainer(text)
    trainer()
    first_run = EVENTS[:EVENTS.index(("end", None, ["close", "mse"])) + 1]
    inside = [e for e in first_run if e[0] in ("enter", "exit") or e[0].startswith("batch_end:False")]
    assert inside == [("enter", 1), ("batch_end:False", 1, ["close", "mse"]), ("exit", 1),
                      ("enter", 3), ("batch_end:False", 3, ["close", "mse"]), ("exit", 3)]


#: The built-ins that act on a finished validation's metrics, attached in its `after`.
ACTING = """pipeline "vscope-acting"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"

""" + tiny_trainer_text(n=8, max_step=12, seed=0, progress=False, log_with='["csv"]', log_dir='"logs"') + """
hook optimize = optimizer()
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader(n = 13, batch_size = 4))
hook publish  = log()
hook plateau  = lr_plateau(monitor = "evaluate.mse", patience = 0, factor = 0.5, threshold = 1000, threshold_mode = "abs")
hook stop     = early_stop(monitor = "evaluate.mse", patience = 2, min_delta = 1000)

loop { epoch { step { after {
    optimize
    evaluate every 2 steps
} } } }

validation evaluate {
    after { plateau -> publish -> stop }
}
"""


def test_log_lr_plateau_and_early_stop_run_in_a_validation_s_after(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # What check accepts there, run runs (it refused all three: "LogHook has no method on_validation_end").
    import csv

    monkeypatch.chdir(tmp_path)
    trainer = HookBasedTrainer.from_plan(compile_text(ACTING, "acting.pipe"))
    trainer()
    history = trainer.hook_instances["evaluate"].history
    # min_delta 1000: the first result is the best, the next two do not improve: stopped after the third (step 6).
    assert [done for done, _ in history] == [2, 4, 6]
    assert trainer.hook_instances["stop"].reason is not None and trainer.trainer_progress_state.global_step_id == 6
    # threshold 1000, patience 0: every result after the first lowers the learning rate by half.
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 2)
    with open(tmp_path / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # One row per validation, at the step its result is labelled with, holding that result.
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    assert [float(r["evaluate/mse"]) for r in rows] == pytest.approx([m["mse"] for _, m in history])


class StepMark:
    """Records the training step ids at which it runs (``step.after``)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def on_step_end(self, args: PipelineHookArgs) -> None:
        EVENTS.append((self.tag, args.step_id))


#: One epoch of 4 training batches; each validation run has 3 batches (the last one sets the run's own count).
EPOCH_BATCHES = """pipeline "epoch-batches"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
use s = "tests.runtime.test_validation_scope_run"

""" + tiny_trainer_text(n=8, max_step=4, seed=0, progress=False) + """
hook optimize = optimizer()
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader(n = 12, batch_size = 4))
hook spy      = s.Spy()
hook mark     = s.StepMark(tag = "mark")
hook tail     = s.StepMark(tag = "tail")

loop { epoch { step { after {
    optimize
    evaluate every 2 batches
    mark every 2 batches
    tail every 3 batches and at end
} } } }

validation evaluate {
    batch { after { spy } }
}
"""


def test_the_epochs_batch_count_is_the_trainings_again_after_a_validation_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A validation run counts its own batches; the attachments after it in the step count the epoch's again."""
    monkeypatch.chdir(tmp_path)
    trainer = _trainer(EPOCH_BATCHES)
    trainer()
    assert len(trainer.hook_instances["evaluate"].history) == 2  # training batches 2 and 4
    assert [e for e in EVENTS if e[0] in ("mark", "tail")] == [
        ("mark", 1), ("tail", 2), ("mark", 3), ("tail", 3)]  # tail: batch 3, and the epoch's last
