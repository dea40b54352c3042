"""What `run` says about a setting it cannot use: the setting's file:line:col, what to do, exit 2, no traceback.

From a user's trial: `model = m.build_model` (no call), a checkpoint, log or seed
`save_root` folder where a file is, and a misspelt seed hook argument in `--set`
each passed `check` and then ended in a Python traceback (or changed nothing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import tiny_trainer_text

HEAD = 'use h = "tests.runtime.hooklib"\n'
LOOP = "loop { epoch { step { after { optimize } } } }\n"


def write(tmp: Path, text: str) -> Path:
    path = tmp / "train.pipe"
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, capsys: pytest.CaptureFixture[str], *sets: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run_file(str(path.name), list(sets), None)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, err


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("key", "written", "needed"), [
    ("model", "h.tiny_model", "a torch.nn.Module"),
    ("dataloader", "h.tiny_loader", "a dataloader (an iterable of batches)"),
])
def test_a_factory_named_without_its_call_is_the_settings_error(
        here: Path, capsys: pytest.CaptureFixture[str], key: str, written: str, needed: str) -> None:
    text = HEAD + tiny_trainer_text(max_step=2, **{key: written}) + "hook optimize = optimizer()\n" + LOOP
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith(key + " "))
    code, err = run(write(here, text), capsys)
    assert code == 2
    assert (f"hookpipe run: train.pipe:{line}:5: trainer.{key}: `{written}` is a function, not {needed}; call it: "
            f"`{written}()` (with its arguments, if it takes any)") in err


def test_from_plan_names_the_import_path(here: Path) -> None:
    from hookpipe.compiler.pipeline import compile_file
    from hookpipe.runtime import HookBasedTrainer
    from hookpipe.runtime.errors import UncalledFactory

    text = HEAD + tiny_trainer_text(max_step=2, model="h.tiny_model") + "hook optimize = optimizer()\n" + LOOP
    with pytest.raises(UncalledFactory) as caught:
        HookBasedTrainer.from_plan(compile_file(write(here, text)))
    assert caught.value.exit_code == 2 and caught.value.setting == "trainer.model"
    assert "call it: `tests.runtime.hooklib.tiny_model()`" in str(caught.value)


def test_a_processor_function_taking_the_loops_keywords_is_still_a_processor(here: Path) -> None:
    from hookpipe.runtime.build import _built
    from hookpipe.runtime.errors import SettingError, UncalledFactory

    def processor(pipeline_hooks: object, on_batch_hook_args: object, model: object) -> None:
        return None

    assert _built("batch_processor", {"$ref": "m:processor"}, processor) is processor
    with pytest.raises(UncalledFactory, match=r"call it: `m.make_processor\(\)`"):
        _built("batch_processor", {"$ref": "m:make_processor"}, lambda: None)
    with pytest.raises(SettingError, match=r"trainer.optimizer: `m.make\(...\)` returned a function, not an "
                                           r"optimizer"):
        _built("optimizer", {"$call": "m:make", "args": {}}, lambda params: None)


SAVE = HEAD + tiny_trainer_text(max_step=2) + """\
hook optimize = optimizer()
HOOK
loop { epoch { step { after { optimize -> save } } } }
"""


@pytest.mark.parametrize(("hook", "arg", "message"), [
    ('hook save = checkpoint(dir = "afile")', "dir",
     "hook 'save': cannot create the checkpoint folder afile: afile is a file, not a folder; give this run another "
     "`dir` (--set hook.save.dir=...), or move afile out of the way"),
    ('hook save = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "afile/x", save_epoch_freq = 1)', "save_root",
     "hook 'save': cannot create the checkpoint folder afile/x: afile is a file, not a folder; give this run another "
     "`save_root` (--set hook.save.save_root=...), or move afile out of the way"),
])
def test_a_checkpoint_folder_where_a_file_is_is_the_hooks_error(
        here: Path, capsys: pytest.CaptureFixture[str], hook: str, arg: str, message: str) -> None:
    (here / "afile").write_text("mine")
    path = write(here, SAVE.replace("HOOK", hook))
    line, column = path.read_text().splitlines().index(hook) + 1, hook.index(f"{arg} =") + 1  # at the argument
    code, err = run(path, capsys)
    assert code == 2
    assert f"hookpipe run: train.pipe:{line}:{column}: {message}" in err
    assert (here / "afile").read_text() == "mine" and sorted(p.name for p in here.iterdir()) == ["afile", "train.pipe"]
    # Given by --set, the file's line is not what failed: the file is named, the message the same.
    code, err = run(path, capsys, "hook.save.dir=afile" if "checkpoint(" in hook else "hook.save.save_root=afile/x")
    assert code == 2 and f"hookpipe run: train.pipe: {message}" in err


def test_a_log_folder_where_a_file_is_is_the_settings_error(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "afile").write_text("mine")
    text = HEAD + tiny_trainer_text(max_step=2, log_with='["csv"]', log_dir='"afile"') + \
        "hook optimize = optimizer()\nhook lg = log()\nloop { epoch { step { after { optimize -> lg } } } }\n"
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith("log_dir"))
    code, err = run(write(here, text), capsys)
    assert code == 2
    assert (f"hookpipe run: train.pipe:{line}:5: trainer.log_dir: cannot create the log folder afile: afile is a file, "
            "not a folder; give this run another `log_dir` (--set trainer.log_dir=...), or move afile out of the way"
            ) in err
    assert (here / "afile").read_text() == "mine"


def weight_norm(model: Any) -> dict[str, float]:
    """A seed-style evaluation callback: ``eval_callback(model)``."""
    return {"norm": float(sum(p.detach().norm() for p in model.parameters()))}


SEED_VALIDATION = HEAD + 'use me = "tests.runtime.test_trial_check_run_errors"\n' + tiny_trainer_text(max_step=2) + """\
hook optimize = optimizer()
hook ev = "hookpipe.runtime.ValidationHookConfig"(eval_callback = me.weight_norm, step_eval_freq = 1)
hook save = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "runs/ck", save_step_freq = 1)
loop { epoch { step { after { optimize -> ev -> save } } } }
"""


@pytest.mark.parametrize(("key", "message"), [
    ("hook.ev.step_eval_freqq=2", "--set hook.ev.step_eval_freqq: unknown argument of ValidationHook "
                                  "`step_eval_freqq`; did you mean `hook.ev.step_eval_freq`?"),
    ("hook.save.save_step_frq=2", "--set hook.save.save_step_frq: unknown argument of SaveCheckpoint "
                                  "`save_step_frq`; did you mean `hook.save.save_step_freq`?"),
])
def test_set_refuses_an_argument_a_seed_hook_type_does_not_take(
        here: Path, capsys: pytest.CaptureFixture[str], key: str, message: str) -> None:
    path = write(here, SEED_VALIDATION)
    code, err = run(path, capsys, key)
    assert code == 1  # as for the built-ins' arguments and the trainer's settings
    assert f"hookpipe run: train.pipe: {message}" in err
    assert not (here / "runs").exists()  # refused before anything was built


def test_set_of_a_seed_hooks_real_argument_is_applied(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hookpipe.compiler.pipeline import compile_text
    from hookpipe.runtime.plan.overrides import apply_overrides

    plan = compile_text(SEED_VALIDATION, "t.pipe")
    changed = apply_overrides(plan, {"hook.ev.step_eval_freq": "2"})
    assert next(h for h in changed.hooks if h.name == "ev").args["step_eval_freq"] == 2
    code, err = run(write(here, SEED_VALIDATION), capsys, "hook.ev.step_eval_freq=2", "hook.save.save_step_freq=2")
    assert code == 0, err


def test_a_saved_plan_with_a_stats_monitor_that_cannot_run_is_refused_before_it_trains(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A .pipe file attaching it so does not compile (HP006); a saved plan is not compiled again.
    from tests.runtime import planbuild as pb

    stats = pb.hook("st", "hookpipe.runtime.StatsMonitorConfig", {"step_log_freq": 2}, line=3)
    opt = pb.hook("optimize", "optimizer", builtin=True, line=2)
    saved = pb.plan(pb.tiny_trainer(max_step=2), [opt, stats],
                    [pb.entry("optimize", "step", "after", line=7), pb.entry("st", "step", "after", line=8)])
    (here / "plan.json").write_text(saved.to_json(), encoding="utf-8")
    capsys.readouterr()
    code = run_file("plan.json", [], None)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert ("hookpipe run: test.pipe:8:5: hook 'st' (StatsMonitor) is attached in `step.after`, whose callback needs "
            "its `loop.before` callback to have run (AssertionError: Please call `on_loop_begin` first.); attach it "
            "in `loop.before` too (`hookpipe check` reports this as HP006)") in err
