"""``--set`` takes plain data: it can never name code to run, and its numbers are bounded."""

from __future__ import annotations

import json
import re
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


def test_an_argument_of_a_call_in_a_hook_is_plain_data_as_in_the_trainer(tmp_path: Path, monkeypatch) -> None:
    # `trainer.dataloader.batch_size=8` worked; the same below a hook's dataloader call was refused as code.
    loader = {"$call": "tests.runtime.trackinglib:val_loader", "args": {"n": 13, "batch_size": 4}}
    plan = _with_hook("validation", {"callback": "tests.runtime.trackinglib:val_step", "dataloader": loader},
                      builtin=True)
    changed = apply_overrides(plan, {"hook.extra.dataloader.batch_size": "8", "hook.extra.dataloader.args.n": "5"})
    assert changed.hook("extra").args["dataloader"] == {"$call": "tests.runtime.trackinglib:val_loader",
                                                        "args": {"n": 5, "batch_size": 8}}
    # The call itself stays the file's: replacing it, or its target, is still refused.
    marker = _evil_module(tmp_path, monkeypatch)
    for key, value in (("hook.extra.dataloader", "hp_evil_module:Evil"),
                       ("hook.extra.dataloader.$call", "hp_evil_module:Evil")):
        with pytest.raises(PlanResolveError, match="names code"):
            apply_overrides(plan, {key: value})
    # A value set below the call is data: a string naming code stays a string, never imported.
    stays = apply_overrides(plan, {"hook.extra.dataloader.collate_fn": "hp_evil_module:Evil"})
    assert stays.hook("extra").args["dataloader"]["args"]["collate_fn"] == "hp_evil_module:Evil"
    assert not marker.exists()


EVIL = "import pathlib\npathlib.Path({marker!r}).write_text('imported')\nclass Evil:\n    def __init__(self, *a, **k):\n        pathlib.Path({marker!r}).write_text('called')\n"


def _evil_module(tmp_path: Path, monkeypatch) -> Path:
    """A module on the import path that leaves a marker file when it is imported (or its class is called)."""
    marker = tmp_path / "imported.marker"
    (tmp_path / "hp_evil_module.py").write_text(EVIL.format(marker=str(marker)), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return marker


def _with_hook(spec_type: str, args: dict, *, builtin: bool = False):
    from tests.runtime import planbuild
    base = digits_plan()
    extra = planbuild.hook("extra", spec_type, args, builtin=builtin)
    import dataclasses
    return dataclasses.replace(base, hooks=(*base.hooks, extra), _hash="")


@pytest.mark.parametrize("key, value", [
    # the attacks: an ObjectRef inside an Optional, class_type on a seed-form hook
    ("hook.evaluate.dataloader", "hp_evil_module"),
    ("hook.evaluate.dataloader", "hp_evil_module:Evil"),
    ("hook.extra.class_type", "hp_evil_module:Evil"),
    ("hook.extra.class_type", "os:system"),
])
def test_set_never_imports_what_it_names(tmp_path: Path, monkeypatch, key: str, value: str) -> None:
    marker = _evil_module(tmp_path, monkeypatch)
    plan = _with_hook("hookpipe.runtime.SaveCheckpointConfig", {"save_root": str(tmp_path / "ckpt")})
    with pytest.raises(PlanResolveError, match=r"names code; --set takes plain data only: edit the \.pipe file"):
        apply_overrides(plan, {key: value})
    assert not marker.exists()


def test_set_class_type_through_run_file_is_refused_before_anything_runs(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    marker = _evil_module(tmp_path, monkeypatch)
    plan_file = tmp_path / "digits.json"
    plan_file.write_text(digits_plan(str(tmp_path / "ckpt")).to_json(), encoding="utf-8")
    assert run_file(str(plan_file), ["hook.evaluate.dataloader=hp_evil_module"], None) == 1
    err = capsys.readouterr().err
    assert "`dataloader` of hook 'evaluate' names code" in err and "Traceback" not in err
    assert not marker.exists()


@pytest.mark.parametrize("hook_type, key", [
    ("tests.runtime.codehooks:PlainFactoryHook", "factory"),  # type | None on __init__
    ("tests.runtime.codehooks:PlainFactoryHook", "make"),  # Callable | None on __init__
    ("tests.runtime.codehooks:ConfiguredHook", "target"),  # ImportString in the cfg model
    ("tests.runtime.codehooks:ConfiguredHook", "settings.fn"),  # nested model field
    ("tests.runtime.codehooks:CodeConfig", "target"),  # a pydantic config named directly
])
def test_custom_hook_arguments_that_would_be_imported_are_refused(tmp_path: Path, monkeypatch, hook_type: str,
                                                                  key: str) -> None:
    marker = _evil_module(tmp_path, monkeypatch)
    plan = _with_hook(hook_type, {})
    with pytest.raises(PlanResolveError, match=f"`{key}` of hook 'extra' names code"):
        apply_overrides(plan, {f"hook.extra.{key}": "hp_evil_module:Evil"})
    assert not marker.exists()


@pytest.mark.parametrize("hook_type, key, value, expected", [
    ("tests.runtime.codehooks:PlainFactoryHook", "size", "3", 3),
    ("tests.runtime.codehooks:ConfiguredHook", "rate", "0.5", 0.5),
    ("hookpipe.runtime.SaveCheckpointConfig", "save_step_freq", "7", 7),
])
def test_custom_and_seed_hooks_plain_arguments_still_override(hook_type: str, key: str, value: str,
                                                              expected: object) -> None:
    plan = apply_overrides(_with_hook(hook_type, {}), {f"hook.extra.{key}": value})
    assert plan.hook("extra").args[key] == expected


def test_python_overrides_take_plain_values_as_they_are(tmp_path: Path) -> None:
    plan = digits_plan(str(tmp_path / "ckpt"))
    changed = apply_overrides(plan, {"trainer.max_epoch": 1, "hook.clip.max_norm": 0.5,
                                     "trainer.max_step": None, "hook.clip.mode": "value"})
    assert changed.trainer["max_epoch"] == 1 and changed.trainer["max_step"] is None
    clip = next(h for h in changed.hooks if h.name == "clip")
    assert clip.args["max_norm"] == 0.5 and clip.args["mode"] == "value"
    # A string is still read as on the command line.
    assert apply_overrides(plan, {"trainer.max_epoch": "2"}).trainer["max_epoch"] == 2


@pytest.mark.parametrize("value, message", [
    (print, "--set trainer.max_epoch: builtin_function_or_method is not plain data"),
    ([1, object()], "--set trainer.max_epoch: object is not plain data"),
    ({1: "a"}, "--set trainer.max_epoch: dict is not plain data"),
    ({"$call": "os:system"}, "`$call` is not allowed"),
    (float("inf"), "is out of range"),
])
def test_python_overrides_refuse_what_is_not_plain_data(tmp_path: Path, value: object, message: str) -> None:
    with pytest.raises(PlanResolveError, match=re.escape(message)):
        apply_overrides(digits_plan(str(tmp_path / "ckpt")), {"trainer.max_epoch": value})


def test_a_trainer_setting_an_override_made_invalid_is_blamed_on_the_override(tmp_path: Path) -> None:
    plan = digits_plan(str(tmp_path / "ckpt"))
    with pytest.raises(PlanResolveError, match=re.escape("--set trainer.max_epoch='abc': Input should be a valid")):
        apply_overrides(plan, {"trainer.max_epoch": "abc"})
    with pytest.raises(PlanResolveError, match=re.escape("--set trainer.grad_accumulation=-1.5: ")):
        apply_overrides(plan, {"trainer.grad_accumulation": -1.5})


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "+Infinity"])
def test_nan_and_infinity_are_refused_as_numbers_and_a_quoted_word_is_a_string(text: str) -> None:
    """Before, `lr=nan` became the string 'nan' and the optimizer failed comparing it with 0.0."""
    with pytest.raises(PlanResolveError, match=rf"override value '{re.escape(text)}' is not a number a \.pipe file "
                                               r"can hold \(floats must be finite\)"):
        parse_override_value(text)
    assert parse_override_value(f'"{text}"') == text


def test_an_empty_value_names_its_key_instead_of_a_json_error() -> None:
    from hookpipe.runtime.plan.overrides import parse_sets

    with pytest.raises(PlanResolveError, match=r"^--set trainer\.max_epoch=: no value after `=`; write one "
                                               r"\(e\.g\. trainer\.max_epoch=10\)"):
        parse_sets(["trainer.max_epoch="])
    assert parse_sets(['trainer.log_dir=""']) == {"trainer.log_dir": '""'}


_AVERAGED = """\
pipeline "set-references"
trainer {
    max_step = 4
}
hook optimize = optimizer()
hook avg      = ema(decay = 0.9)
hook swap     = ema_swap(source = "avg")
hook evaluate = validation(callback = "tests.runtime.codehooks:metrics")
hook save     = checkpoint(dir = "ckpt", monitor = "evaluate.loss")
loop {
    epoch {
        step {
            after {
                optimize -> avg
                with swap { evaluate every 2 steps }
                save every 2 steps
            }
        }
    }
}
"""


@pytest.mark.parametrize("key, value, message", [
    ("hook.swap.source", "avgg", "--set hook.swap.source: `swap` swaps in the weights of `avgg`, but there is no "
                                 "hook `avgg`; did you mean `avg`?"),
    ("hook.swap.source", "save", "--set hook.swap.source: `swap` swaps in the weights of `save`, but `save` "
                                 "(checkpoint) provides no averaged weights"),
    ("hook.save.monitor", "evaluat.loss", "--set hook.save.monitor: `save` monitors `evaluat.loss`, but there is no "
                                          "hook `evaluat`; did you mean `evaluate`?"),
    ("hook.save.monitor", "optimize.loss", "--set hook.save.monitor: `save` monitors `optimize.loss`, but `optimize` "
                                           "(optimizer) produces no metrics"),
])
def test_a_set_argument_naming_a_hook_is_checked_as_the_file_is(key: str, value: str, message: str) -> None:
    """A typo in `--set hook.swap.source` used to fail at the first swap, after training had started."""
    from hookpipe.compiler import compile_text
    from hookpipe.errors import CompileError

    with pytest.raises(PlanResolveError, match=re.escape(message)):
        apply_overrides(compile_text(_AVERAGED, "set.pipe"), {key: value})
    # the same value written in the file is the compiler's error, with the same words
    edited = _AVERAGED.replace({"hook.swap.source": 'source = "avg"', "hook.save.monitor": 'monitor = "evaluate.loss"'}
                               [key], f'{key.rsplit(".", 1)[1]} = "{value}"')
    with pytest.raises(CompileError) as failed:
        compile_text(edited, "set.pipe")
    assert message.split(": ", 1)[1].split(";")[0] in [d.message for d in failed.value.diagnostics]


def test_a_set_argument_naming_a_fitting_hook_is_taken() -> None:
    from hookpipe.compiler import compile_text

    plan = compile_text(_AVERAGED, "set.pipe")
    changed = apply_overrides(plan, {"hook.save.monitor": "evaluate.accuracy", "hook.swap.source": "avg"})
    assert changed.hook("save").args["monitor"] == "evaluate.accuracy"


def test_a_frequency_is_not_a_set_argument_and_an_argumentless_hook_says_so() -> None:
    from hookpipe.compiler import compile_text

    plan = compile_text(_AVERAGED.replace("hook avg ", 'hook ticks    = log()\nhook avg ')
                        .replace("save every 2 steps", "save every 2 steps\n                ticks"), "set.pipe")
    with pytest.raises(PlanResolveError, match=re.escape(
            "--set hook.save.every: `every` is not an argument of hook 'save' but part of where it is attached "
            "(`save every 2 steps` in a phase block): --set changes arguments and trainer settings only; edit the "
            "attachment in the .pipe file")):
        apply_overrides(plan, {"hook.save.every": "4"})
    with pytest.raises(PlanResolveError, match=re.escape("--set hook.ticks.rate: log takes no arguments")):
        apply_overrides(plan, {"hook.ticks.rate": "4"})
