"""``hookpipe import robo``: validation as the seed's ValidationHookConfig, hookpipe's own config paths.

The seed calls ``eval_callback(model)``; the ``validation`` built-in passes the hook
arguments. So the trainer's ``validation`` is written as the seed's config type (the
catalog knows it), and the user's callback runs unchanged. A JSON naming hookpipe's
copies of the seed configs (``hookpipe.runtime.hooks.checkpoint:SaveCheckpointConfig``)
is the same seed hooks, not project hooks.

This module is also the project module the imported files name (``--module``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

import pytest

from hookpipe.compiler.catalog import SEED_HOOKS
from hookpipe.porting.robo import seed_config
from hookpipe.porting.writer import MARK
from tests.helpers import CliResult, run_cli

MODULE = "tests.test_import_robo_seed_types"
#: What ``evaluate`` was called with, in order (reset by each test that runs).
CALLS: list[Any] = []


def model() -> Any:
    from examples.probes import build_model

    return build_model([8, 4, 1])


def dataloader() -> Any:
    from examples.probes import regression_loader

    return regression_loader(batch_size=16, size=64)


def optimizer(params: Iterable[Any]) -> Any:
    import torch

    return torch.optim.SGD(params, lr=0.01)


def batch_processor() -> Any:
    from examples.probes import Regression

    return Regression()


def evaluate(model: Any) -> dict[str, float]:
    """A RoboOrchard Lab eval_callback: it takes the model."""
    CALLS.append(model)
    return {"calls": float(len(CALLS))}


def imported(tmp_path: Path, data: Any, *extra: str) -> tuple[CliResult, str]:
    source = tmp_path / "hooks.json"
    source.write_text(json.dumps(data))
    out = tmp_path / "out.pipe"
    result = run_cli("import", "robo", str(source), "-o", str(out), *extra)
    assert f"wrote {out}" in result.err, result.err
    return result, out.read_text()


def checks(path: Path) -> bool:
    return run_cli("check", str(path)).code == 0


def test_trainer_validation_is_the_seeds_config_and_calls_the_callback_with_the_model(tmp_path: Path) -> None:
    result, text = imported(tmp_path, {"max_epoch": 2, "validation": {"epoch_eval_freq": 1}, "hooks": []},
                            "--module", MODULE)
    assert ('hook evaluate = "hookpipe.runtime.hooks.ValidationHookConfig"(eval_callback = project.evaluate, '
            "epoch_eval_freq = 1)") in text
    assert "evaluate every epoch" in text and "validation(" not in text
    assert result.code == 0 and MARK not in text and "nothing needs a person" in result.err
    assert "evaluate: ValidationHookConfig's eval_callback, called as eval_callback(model)" in result.err

    import torch

    import hookpipe
    from hookpipe.runtime import HookBasedTrainer

    CALLS.clear()
    trainer = HookBasedTrainer.from_plan(hookpipe.compile_file(str(tmp_path / "out.pipe")))
    trainer()
    assert [done for done, _ in trainer.hook_instances["evaluate"].history] == [4, 8]  # each epoch's end
    assert CALLS and all(isinstance(m, torch.nn.Module) for m in CALLS)  # the sanity check's call too


def test_a_validation_config_in_hooks_keeps_its_phases_and_names_its_callback(tmp_path: Path) -> None:
    config = {"__config_type__": "robo_orchard_lab.pipeline.hooks.validation:ValidationHookConfig",
              "class_type": "robo_orchard_lab.pipeline.hooks.validation:ValidationHook",
              "eval_callback": "my_project.eval:evaluate", "step_eval_freq": 4, "epoch_eval_freq": None,
              "eval_at_begin": True}
    result, text = imported(tmp_path, {"max_step": 8, "hooks": [config]}, "--module", MODULE)
    assert ('"hookpipe.runtime.hooks.ValidationHookConfig"(eval_callback = project.evaluate, step_eval_freq = 4, '
            "epoch_eval_freq = none, eval_at_begin = true)") in text
    assert "before { evaluate }" in text and "evaluate every 4 steps" in text
    assert "(`my_project.eval:evaluate` in the input)" in result.err  # what the module must define, and where it was
    assert result.code == 0 and checks(tmp_path / "out.pipe")


@pytest.mark.parametrize("path", sorted(SEED_HOOKS))
def test_every_path_the_catalog_knows_is_a_seed_hook(path: str) -> None:
    module, _, cls = path.rpartition(".")
    assert seed_config(f"{module}:{cls}") is SEED_HOOKS[path]


def test_hookpipes_own_config_paths_are_not_marked(tmp_path: Path) -> None:
    hooks = [
        {"__config_type__": "hookpipe.runtime.hooks.checkpoint:SaveCheckpointConfig", "save_root": "runs/x",
         "save_step_freq": 4, "class_type": "hookpipe.runtime.hooks.checkpoint:SaveCheckpoint"},
        {"__config_type__": "hookpipe.runtime.hooks:LossTrackerConfig", "step_log_freq": 4},
        {"__config_type__": "hookpipe.runtime:ClearCacheHookConfig", "empty_cache_freq": 2},
    ]
    result, text = imported(tmp_path, {"max_epoch": 1, "hooks": hooks}, "--module", MODULE)
    assert "not a RoboOrchard Lab hook" not in text and MARK not in text and result.code == 0
    declared = re.findall(r'^hook (\w+) += "([\w.]+)"', text, re.M)
    assert declared == [("save_checkpoint", "hookpipe.runtime.hooks.SaveCheckpointConfig"),
                        ("loss_tracker", "hookpipe.runtime.hooks.LossTrackerConfig"),
                        ("clear_cache", "hookpipe.runtime.hooks.ClearCacheHookConfig")]
    assert re.search(r"after \{\s+save_checkpoint\s+clear_cache\s+\}", text)  # the epoch's end, too
    assert checks(tmp_path / "out.pipe")


def test_a_project_subclass_as_class_type_is_marked(tmp_path: Path) -> None:
    config = {"__config_type__": "hookpipe.runtime.hooks.validation:ValidationHookConfig",
              "class_type": "my_project.hooks:RecordingValidation", "epoch_eval_freq": 1}
    result, text = imported(tmp_path, [config], "--module", MODULE)
    assert re.search(rf"eval_callback = project\.evaluate, epoch_eval_freq = 1\)  {MARK} class_type is "
                     r"my_project\.hooks:RecordingValidation, not the seed's ValidationHook", text)
    assert result.code == 1


def test_validation_without_a_frequency_is_marked(tmp_path: Path) -> None:
    result, text = imported(tmp_path, {"max_epoch": 1, "validation": {}}, "--module", MODULE)
    assert f"{MARK} RoboOrchard Lab refuses a ValidationHookConfig without" in text and result.code == 1


def test_a_clipping_config_in_hooks_runs_before_the_optimizer_marked(tmp_path: Path) -> None:
    clip = {"__config_type__": "hookpipe.runtime.hooks.grad_clip:GradientClippingHookConfig", "clip_mode": "norm",
            "max_norm": 1.0}
    result, text = imported(tmp_path, {"max_epoch": 1, "hooks": [clip]}, "--module", MODULE)
    assert '"hookpipe.runtime.hooks.GradientClippingHookConfig"(clip_mode = "norm", max_norm = 1.0)' in text
    assert "after {\n                clip\n                optimize\n" in text
    assert f"{MARK} in RoboOrchard Lab this hook in `hooks` runs after the optimizer step" in text
    assert result.code == 1 and checks(tmp_path / "out.pipe")  # no HP005: clipping comes first


def test_a_length_that_is_there_but_not_a_count_is_said_as_such(tmp_path: Path) -> None:
    """`"max_epoch": "ten"` was reported "not in the input"; it is there, and wrong."""
    from tests.test_import import imported

    source = tmp_path / "hooks.json"
    source.write_text('{"hooks": [], "max_epoch": "ten"}')
    _, text = imported("robo", source, tmp_path, "--module", "my_project")
    assert ("max_epoch = 1  # hookpipe import: the run's length (HookBasedTrainer's max_step/max_epoch) is not a "
            "whole number of at least 1 in the input (max_epoch 'ten'): set it") in text
