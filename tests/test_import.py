"""``hookpipe import``: real-shaped MMEngine, LightningCLI and RoboOrchard Lab inputs to ``.pipe`` files.

The fixtures under tests/fixtures/import are written in the shape of public projects'
configs (each file's first lines say which); the RoboOrchard Lab JSON is written by
the real robo_orchard_lab 0.4.0 (``robo/make_hooks.py``, rerun by the slow test at
the end). ``hookpipe check`` on each output is the test. Inputs whose output needs
the language's newer forms (``until``, validation scopes, brackets, ``lr_plateau``,
``swa``) are tested in tests/test_import_new_forms.py.
"""

from __future__ import annotations

import bisect
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from hookpipe.compiler import compile_text
from hookpipe.compiler.catalog import EmaArgs
from hookpipe.porting.mmengine_validation import val_firings
from hookpipe.porting.pyconfig import ConfigError, Opaque, read_config
from hookpipe.porting.writer import MARK, marked_lines, pipe_name
from tests.helpers import FIXTURES, ROOT, CliResult, run_cli

IMPORT = FIXTURES / "import"


def do_import(kind: str, source: Path, out: Path, *extra: str) -> CliResult:
    return run_cli("import", kind, str(source), "-o", str(out), *extra)


def imported(kind: str, source: Path, tmp_path: Path, *extra: str) -> tuple[CliResult, str]:
    """Import ``source``; the result, and the output after asserting it checks clean and its marks are listed."""
    out = tmp_path / "out.pipe"
    result = do_import(kind, source, out, *extra)
    text = out.read_text()
    check = run_cli("check", str(out))
    assert check.code == 0, check.output + text
    marked = [n for n, line in enumerate(text.splitlines(), 1) if MARK in line]
    listed = [int(m) for m in re.findall(rf"^{re.escape(str(out))}:(\d+): needs a person", result.err, re.M)]
    assert listed == marked
    assert result.code == (1 if marked else 0), result.err
    assert f"wrote {out}" in result.err
    return result, text


def block(text: str, opener: str) -> str:
    """The text of the block opened by the line ``opener`` (stripped), up to its closing brace."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == opener)
    depth, body = 0, []
    for line in lines[start:]:
        depth += line.count("{") - line.count("}")
        body.append(line.strip())
        if depth == 0:
            break
    return "\n".join(body)


# --- MMEngine ---------------------------------------------------------------------------------------------------

def test_mmdetection_faster_rcnn_shape(tmp_path: Path) -> None:
    result, text = imported("mmengine", IMPORT / "mmdet/configs/faster_rcnn_r50_fpn_1x_coco.py", tmp_path)
    assert "max_epoch = 12" in text
    assert 'optimizer       = "torch.optim.SGD"(lr = 0.02, momentum = 0.9, weight_decay = 0.0001)' in text
    assert 'hook clip     = grad_clip(mode = "norm", max_norm = 35)' in text
    # priorities: timer (NORMAL) before logger (BELOW_NORMAL), after the optimizer MMEngine's loop steps first;
    # LoggerHook's interval counts each epoch's batches in an EpochBasedTrainLoop (every_n_inner_iters)
    assert block(text, "step {").splitlines()[1:6] == ["after {", "clip", "optimize", "timer",
                                                       "logger every 50 batches"]
    epoch_after = [line for line in block(text, "epoch {").splitlines() if line.startswith(("evaluate", "save"))]
    assert epoch_after == ["evaluate every epoch", "save     every epoch"]
    assert "after { save }" in text  # CheckpointHook's save_last
    # two schedules (iterations, then epochs) cannot be one torch scheduler: a marked factory
    assert re.search(r"lr_scheduler += project\.lr_scheduler\(.*end = 500.*# hookpipe import: MMEngine's "
                     r"param_scheduler \(LinearLR 0-500 iterations, MultiStepLR 0-12 epochs\)", text)
    assert "DetVisualizationHook" not in text  # draw=False in the child config: nothing to port
    assert "sampler_seed" not in text and "param_scheduler" not in text.split("trainer")[0]
    assert "port_project must define" not in result.err and "must define: build_model" in result.err


def test_mmpretrain_resnet_shape(tmp_path: Path) -> None:
    _, text = imported("mmengine", IMPORT / "mmpretrain/configs/resnet/resnet50_8xb32_in1k.py", tmp_path)
    assert "max_epoch = 100" in text
    assert "logger every 100 batches" in text
    assert "VisualizationHook" not in text  # enable=False
    assert "val_evaluator (Accuracy)" not in text  # the callback's description goes to stderr, not a mark
    assert re.search(r"project\.lr_scheduler\(schedule = \[\{ type = \"MultiStepLR\", by_epoch = true, "
                     r"milestones = \[30, 60, 90\], gamma = 0\.1 \}\]", text)


def test_iteration_based_loop_with_a_torch_scheduler(tmp_path: Path) -> None:
    config = tmp_path / "seg.py"
    config.write_text(
        "# In the shape of MMSegmentation 1.x's configs/_base_/schedules/schedule_20k.py\n"
        "optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)\n"
        "optim_wrapper = dict(type='AmpOptimWrapper', optimizer=optimizer, clip_grad=None, accumulative_counts=2)\n"
        "param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1000)]\n"
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)\n"
        "val_cfg = dict(type='ValLoop')\n"
        "val_dataloader = dict(batch_size=1)\n"
        "default_hooks = dict(\n"
        "    timer=dict(type='IterTimerHook'),\n"
        "    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),\n"
        "    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=2),\n"
        "    visualization=dict(type='SegVisualizationHook'))\n")
    _, text = imported("mmengine", config, tmp_path)
    assert "max_step          = 20000" in text
    # marked: MMEngine's accumulation windows run on across passes over the loader (test_import_accumulation.py)
    assert "grad_accumulation = 2  # hookpipe import: MMEngine's accumulation windows" in text
    assert 'mixed_precision = "fp16"' in text
    # MMEngine steps it every iteration, 2 per update: update k reads iteration 2k - 1 (test_import_accumulation.py)
    assert 'lr_scheduler    = "torch.optim.lr_scheduler.LinearLR"(start_factor = 0.100900900901, total_iters = 499)' \
        in text
    step_after = block(text, "step {")
    # MMEngine validates after every after_train_iter hook; evaluate goes right before the checkpoint, and the
    # logger, which reads its metrics, after it
    assert step_after.splitlines()[1:7] == ["after {", "optimize", "timer", "evaluate every 2000 steps and at end",
                                            "logger   every 50 steps and at end", "save     every 2000 steps"]
    assert 'checkpoint(dir = "work_dirs/seg/checkpoints", keep_last = 2)' in text  # work_dir: ./work_dirs/<stem>


def mmengine_validates(max_epochs: int, interval: int, begin: int, dynamic: list[tuple[int, int]]) -> set[int]:
    """The epochs MMEngine's EpochBasedTrainLoop.run validates after (its loop, restated)."""
    milestones, intervals = [0] + [m for m, _ in dynamic], [interval] + [n for _, n in dynamic]
    fired = set()
    for epoch in range(1, max_epochs + 1):  # ``self._epoch`` after run_epoch()
        current = intervals[bisect.bisect(milestones, epoch + 1) - 1]  # _decide_current_val_interval
        if epoch >= begin and (epoch % current == 0 or epoch == max_epochs):
            fired.add(epoch)
    return fired


def pipe_fires(modifiers: str, last: int) -> set[int]:
    """Occurrences (1-based) an attachment with ``modifiers`` fires at (the language's frequency rules)."""
    m = re.fullmatch(r"every (?:(\d+) )?epochs?(?: from (\d+))?(?: until (\d+))?( and at end)?", modifiers)
    assert m, modifiers
    n = int(m.group(1) or 1)
    start = int(m.group(2) or n)
    until = int(m.group(3)) if m.group(3) else None
    fires = {c for c in range(1, last + 1) if c >= start and (c - start) % n == 0 and (until is None or c <= until)}
    return fires | ({last} if m.group(4) else set())


@pytest.mark.parametrize(("max_epochs", "interval", "begin", "dynamic"), [
    (300, 10, 1, [(285, 1)]),  # YOLOX
    (12, 1, 1, []),
    (12, 5, 1, []),
    (100, 10, 25, []),
    (50, 4, 1, [(20, 3), (40, 1)]),
    (30, 7, 9, [(10, 2)]),
    (10, 1, 1, [(5, 3)]),
])
def test_validation_firings_match_mmengine(max_epochs: int, interval: int, begin: int,
                                          dynamic: list[tuple[int, int]]) -> None:
    loop = {"max_epochs": max_epochs, "val_interval": interval, "val_begin": begin, "dynamic_intervals": dynamic}
    attachments = val_firings(loop, by_epoch=True)
    fired: set[int] = set()
    for modifiers in attachments:
        ranges = pipe_fires(modifiers, max_epochs)
        assert not fired & ranges, f"{attachments} overlap (HP107)"
        fired |= ranges
    assert fired == mmengine_validates(max_epochs, interval, begin, dynamic), attachments


def test_yolox_validation_attachments() -> None:
    loop = {"max_epochs": 300, "val_interval": 10, "dynamic_intervals": [(285, 1)]}
    # MMEngine looks the interval up for the *next* epoch, so epoch 284 already validates. `and at end`:
    # MMEngine validates the last epoch whatever max_epochs is (a run shortened to 250... still ends validated)
    assert val_firings(loop, by_epoch=True) == ["every 10 epochs until 283", "every epoch from 284 and at end"]


def validation_config(tmp_path: Path, loop: str) -> Path:
    config = tmp_path / "val.py"
    config.write_text(f"train_cfg = dict({loop})\nval_cfg = dict()\nval_evaluator = dict(type='Accuracy')\n"
                      "val_dataloader = dict(batch_size=8)\n", encoding="utf-8")
    return config


def evaluate_firings(text: str, scope: str, length: int) -> list[int]:
    """The occurrences (1-based epochs or steps) the compiled ``evaluate`` attachments fire at in a run of
    ``length`` (``--set trainer.max_epoch=length``): the language's own guards, one entry per firing."""
    plan = compile_text(text, "out.pipe")
    guards = [e.guard for e in plan.phase(scope, "after").flat() if e.hook == "evaluate"]
    return [c for c in range(1, length + 1) for g in guards if g.fires(c, is_last=c == length)]


@pytest.mark.parametrize(("max_epochs", "interval", "begin", "dynamic", "once_from"), [
    (4, 2, 1, [], 1),  # a multiple of the interval: `every 2 epochs` lost the end at 5, 7...
    (5, 2, 1, [], 1),
    (12, 1, 1, [], 1),  # every epoch: the end is one of them at any length
    (100, 10, 25, [], 25),  # val_begin: MMEngine validates nothing before it, not even the end
    (300, 10, 1, [(285, 1)], 284),  # YOLOX
    (30, 7, 9, [(10, 2)], 9),
    (10, 1, 1, [(5, 3)], 4),
])
def test_validation_at_the_last_epoch_holds_for_any_length(tmp_path: Path, max_epochs: int, interval: int,
                                                            begin: int, dynamic: list[tuple[int, int]],
                                                            once_from: int) -> None:
    """MMEngine validates the last epoch (``epoch == max_epochs``) at any length from ``val_begin``: so does the
    port, run with ``--set trainer.max_epoch=N``. Once, from the last interval's first epoch on; a length cut
    before it that an earlier interval also fires at validates twice there (docs/import.md)."""
    loop = f"max_epochs={max_epochs}, val_interval={interval}, val_begin={begin}, dynamic_intervals={dynamic!r}"
    _, text = imported("mmengine", validation_config(tmp_path, loop), tmp_path, "--module", "my_project",
                       "--no-execute")
    for length in range(begin, 2 * max_epochs + 5):
        fired = evaluate_firings(text, "epoch", length)
        assert set(fired) == mmengine_validates(length, interval, begin, dynamic), (length, block(text, "epoch {"))
        if length >= once_from:
            assert len(fired) == len(set(fired)), (length, fired)


def test_iteration_loop_validates_at_its_last_iteration_for_any_length(tmp_path: Path) -> None:
    """``IterBasedTrainLoop`` validates when ``iter % val_interval == 0 or iter == max_iters``."""
    _, text = imported("mmengine", validation_config(tmp_path, "type='IterBasedTrainLoop', max_iters=900, "
                                                               "val_interval=300"), tmp_path,
                       "--module", "my_project", "--no-execute")
    assert "evaluate every 300 steps and at end" in block(text, "step {")
    for length in (900, 1000, 1234, 299):
        expected = {i for i in range(1, length + 1) if i % 300 == 0 or i == length}
        assert evaluate_firings(text, "step", length) == sorted(expected)


def test_val_begin_after_the_last_epoch_is_marked(tmp_path: Path) -> None:
    """``val_begin`` past ``max_epochs``: MMEngine never validates, not even at the end."""
    _, text = imported("mmengine", validation_config(tmp_path, "max_epochs=6, val_interval=2, val_begin=8"),
                       tmp_path, "--module", "my_project", "--no-execute")
    line = next(line for line in block(text, "epoch {").splitlines() if line.startswith("evaluate"))
    code, _, note = line.partition(MARK)
    assert code.strip() == "evaluate every 2 epochs from 8"
    assert note.strip() == ("train_cfg.val_begin 8 is after the last epoch (6): MMEngine never validates this run; "
                            "delete evaluate, or keep it for a longer run")
    assert evaluate_firings(text, "epoch", 6) == [] and mmengine_validates(6, 2, 8, []) == set()
    assert evaluate_firings(text, "epoch", 12) == [8, 10, 12] == sorted(mmengine_validates(12, 2, 8, []))


@pytest.mark.parametrize(("given", "said"), [
    ("val_cfg = dict()\nval_evaluator = dict(type='Accuracy')\n", "val_cfg and val_evaluator are set"),
    ("val_evaluator = dict(type='Accuracy')\nval_dataloader = None\n", "val_evaluator is set"),
])
def test_validation_without_val_dataloader_is_marked(tmp_path: Path, given: str, said: str) -> None:
    """MMEngine's Runner raises ValueError unless val_dataloader, val_cfg and val_evaluator come together."""
    config = tmp_path / "cfg.py"
    config.write_text("train_cfg = dict(max_epochs=4, val_interval=2)\n" + given, encoding="utf-8")
    result, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    # no evaluate; MMEngine's default hooks (the config sets no default_hooks)
    assert [line.split()[1] for line in text.splitlines() if line.startswith("hook ")] == \
        ["optimize", "timer", "logger", "save"]
    code, _, note = next(line for line in text.splitlines() if line.strip().startswith("max_epoch")).partition(MARK)
    assert code.strip() == "max_epoch = 4"
    assert note.strip() == (f"{said} but val_dataloader is not: MMEngine refuses this config (ValueError); nothing "
                            "validates here: add an evaluate hook with a val_loader, or remove "
                            f"{said.rsplit(' ', 2)[0]}")
    assert result.code == 1


def test_priorities_order_custom_hooks(tmp_path: Path) -> None:
    config = tmp_path / "prio.py"
    config.write_text(
        "train_cfg = dict(max_epochs=4)\n"
        "default_hooks = dict(timer=dict(type='IterTimerHook'), logger=dict(type='LoggerHook', interval=5))\n"
        "custom_hooks = [dict(type='my.Late', priority='VERY_LOW'), dict(type='my.Early', priority=5),\n"
        "                dict(type='CheckInvalidLossHook', interval=50, priority='ABOVE_NORMAL')]\n")
    result, text = imported("mmengine", config, tmp_path)
    step_after = block(text, "step {").splitlines()
    assert [line.split()[0] for line in step_after[2:6]] == ["optimize", "check_invalid_loss", "timer", "logger"]
    epoch = block(text, "epoch {")
    epoch_after = epoch[epoch.index(block(text, "step {")) + len(block(text, "step {")):].split()
    # unknown hooks go to the epoch's end (marked), ordered by priority with MMEngine's default checkpoint (VERY_LOW,
    # registered before custom_hooks: ahead of `late` at the same priority); nothing validates, so no logger there
    assert epoch_after == ["after", "{", "early", "save", "every", "epoch", "late", "}", "}"]
    assert re.search(r"hook late += \"my.Late\"\(\)  # hookpipe import: MMEngine hook my.Late: port it", text)
    assert '"mmdet.engine.hooks.CheckInvalidLossHook"(interval = 50) { reads loss }' in text


@pytest.mark.parametrize(("hook", "written"), [
    # MMEngine's MomentumAnnealingEMA defaults to gamma=100; the ema hook's own default is 2000
    ("dict(type='EMAHook', ema_type='MomentumAnnealingEMA', momentum=0.0002)",
     'ema(decay = 0.9998, momentum = "linear", gamma = 100)'),
    ("dict(type='EMAHook', ema_type='MomentumAnnealingEMA', gamma=50)",
     'ema(decay = 0.9998, momentum = "linear", gamma = 50)'),
    # ExpMomentumEMA's default is 2000, the ema hook's: nothing to write
    ("dict(type='EMAHook', ema_type='ExpMomentumEMA')", 'ema(decay = 0.9998, momentum = "exp")'),
])
def test_ema_momentum_ramp_keeps_mmengine_s_gamma(tmp_path: Path, hook: str, written: str) -> None:
    config = tmp_path / "ema.py"
    config.write_text(f"train_cfg = dict(max_epochs=4)\ncustom_hooks = [{hook}]\n", encoding="utf-8")
    _, text = imported("mmengine", config, tmp_path)
    line = next(line for line in text.splitlines() if line.startswith("hook ema "))
    assert line.split("=", 1)[1].strip() == written
    assert EmaArgs().gamma == 2000  # what a line without gamma anneals with


def test_ema_gamma_that_is_not_an_integer_is_marked(tmp_path: Path) -> None:
    config = tmp_path / "ema.py"
    config.write_text("train_cfg = dict(max_epochs=4)\n"
                      "custom_hooks = [dict(type='EMAHook', ema_type='MomentumAnnealingEMA', gamma=100.0)]\n",
                      encoding="utf-8")
    _, text = imported("mmengine", config, tmp_path)
    code, _, note = next(line for line in text.splitlines() if line.startswith("hook ema ")).partition(MARK)
    assert code.split("=", 1)[1].strip() == 'ema(decay = 0.9998, momentum = "linear")'
    assert note.strip() == "EMAHook gamma 100.0 is not an integer >= 1: set gamma by hand"


def test_ema_hook_and_early_stopping_without_validation(tmp_path: Path) -> None:
    config = tmp_path / "ema.py"
    config.write_text(
        "train_cfg = dict(max_epochs=4)\n"
        "custom_hooks = [dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL')]\n")
    _, text = imported("mmengine", config, tmp_path)
    # ExponentialMovingAverage: averaged = (1 - momentum) * averaged + momentum * param, so decay = 1 - momentum
    assert "hook ema      = ema(decay = 0.999, warmup = false)" in text
    assert "ema_swap" not in text  # nothing evaluates, nothing to swap
    assert block(text, "step {").splitlines()[1:4] == ["after {", "optimize", "ema"]


def test_unreadable_values_are_left_out_and_marked(tmp_path: Path) -> None:
    config = tmp_path / "opaque.py"
    config.write_text(
        "import os\n"
        "train_cfg = dict(max_epochs=int(os.environ.get('EPOCHS', 3)))\n"
        "custom_hooks = [{'type': 'my.Probe', 'window': 2, 'every': 3, 'max-iters': 4, 'path': os.getcwd()}]\n")
    result, text = imported("mmengine", config, tmp_path)
    assert "max_epoch = 1  # hookpipe import: train_cfg.max_epochs is missing or not a number (int(os.environ" in text
    # `every` is a reserved word, and a name an argument may have; `max-iters` is no name at all.
    assert 'hook probe    = "my.Probe"(window = 2, every = 3)  # hookpipe import: MMEngine hook my.Probe: port it to ' \
           "a hookpipe hook class and attach it where its before_*/after_* methods run; left out path os.getcwd(); " \
           "argument left out: the key 'max-iters' is not a .pipe name" in text


def test_config_reader_never_executes(tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    config = tmp_path / "evil.py"
    config.write_text(f"x = __import__('pathlib').Path({str(sentinel)!r}).write_text('x')\n"
                      "train_cfg = dict(max_epochs=2, val_interval=(lambda: 1)())\n"
                      "y = 'a' * 10**9\n")
    cfg = read_config(config, tmp_path)
    assert not sentinel.exists()
    assert isinstance(cfg["x"], Opaque) and isinstance(cfg["train_cfg"]["val_interval"], Opaque)
    assert isinstance(cfg["y"], Opaque)  # no string arithmetic beyond concatenation


def test_config_reader_merges_bases_as_mmengine(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base/a.py").write_text("train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)\n"
                                        "opt = dict(type='SGD', lr=0.1, momentum=0.9)\nn = 3\nlst = [1, 2]\n")
    (tmp_path / "child.py").write_text(
        "_base_ = './base/a.py'\n"
        "train_cfg = dict(max_epochs=n * 4 + 1)\n"
        "opt = dict(_delete_=True, type='Adam', lr=1e-3)\n"
        "lst = [3]\n"
        "pair = (lst[0], -n // 2)\n"
        "root = 'data/' + 'coco/'\n")
    cfg = read_config(tmp_path / "child.py", tmp_path)
    assert cfg["train_cfg"] == {"type": "EpochBasedTrainLoop", "max_epochs": 13, "val_interval": 1}
    assert cfg["opt"] == {"type": "Adam", "lr": 1e-3}
    assert cfg["lst"] == [3] and cfg["pair"] == (3, -2) and cfg["root"] == "data/coco/"


@pytest.mark.parametrize(("files", "message"), [
    ({"a.py": "_base_ = 'b.py'\n", "b.py": "_base_ = ['a.py']\n"}, "`_base_` cycle"),
    ({"a.py": "_base_ = 'missing.py'\n"}, "missing.py: the file was not found"),
    ({"a.py": "_base_ = '../outside.py'\n"}, "outside.py: the file resolves outside the project root"),
    ({"a.py": "train_cfg = dict(\n"}, "a.py:1: not valid Python"),
    ({"a.py": "_base_ = 3\n"}, "a.py:1: `_base_` must be a file name or a list of file names"),
])
def test_unreadable_configs_are_usage_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    (tmp_path / "outside.py").write_text("x = 1\n")
    for name, text in files.items():
        (project / name).write_text(text)
    out = project / "out.pipe"
    result = do_import("mmengine", project / "a.py", out)
    assert result.code == 2 and message in result.err, result.err
    assert "Traceback" not in result.err and not out.exists()
    with pytest.raises(ConfigError):
        read_config(project / "a.py", project)


def test_mmengine_installed_reads_with_config_fromfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With mmengine importable, its own Config.fromfile reads the file (and stderr says it executes it)."""
    seen: list[str] = []

    class Config:
        @staticmethod
        def fromfile(path: str) -> Any:
            seen.append(path)
            return types.SimpleNamespace(to_dict=lambda: {"train_cfg": {"max_epochs": 7}})

    package, config = types.ModuleType("mmengine"), types.ModuleType("mmengine.config")
    config.Config = Config  # type: ignore[attr-defined]
    package.__path__ = []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mmengine", package)
    monkeypatch.setitem(sys.modules, "mmengine.config", config)
    monkeypatch.setattr("hookpipe.commands.import_._has_mmengine", lambda: True)
    source = tmp_path / "cfg.py"
    source.write_text("train_cfg = dict(max_epochs=3)\n")
    result, text = imported("mmengine", source, tmp_path)
    assert seen == [str(source)] and "max_epoch = 7" in text
    assert "with mmengine's Config.fromfile, which executes it" in result.err
    (tmp_path / "out.pipe").unlink()
    result, text = imported("mmengine", source, tmp_path, "--no-execute")
    assert seen == [str(source)] and "max_epoch = 3" in text and "executes" not in result.err


# --- LightningCLI -----------------------------------------------------------------------------------------------

def test_lightning_classifier(tmp_path: Path) -> None:
    result, text = imported("lightning", IMPORT / "lightning/image_classifier.yaml", tmp_path)
    for line in ("max_epoch         = 40", "grad_accumulation = 4", 'mixed_precision   = "bf16"',
                 "seed              = 0", 'log_with = ["tensorboard"]', 'log_dir  = "runs/classifier/logs"',
                 'model           = "torchgeo.trainers.ClassificationTask"(model = "resnet18", in_channels = 13, '
                 'num_classes = 10, loss = "ce")',
                 'optimizer       = "torch.optim.AdamW"(lr = 0.001, weight_decay = 0.01)',
                 'hook clip     = grad_clip(mode = "norm", max_norm = 1.0)',
                 'hook logger   = log()',
                 'hook stop     = early_stop(monitor = "evaluate.val_acc", mode = "max", patience = 5)',
                 # save_top_k 2 and save_last: the 2 best and the newest (Lightning's last.ckpt)
                 'hook save     = checkpoint(dir = "runs/classifier/checkpoints", monitor = "evaluate.val_loss", '
                 'mode = "min", keep_best = 2, keep_last = 1)'):
        assert line in text, line
    # log_every_n_steps counts optimizer steps in Lightning; the LearningRateMonitor is that log()'s lr/<i>
    assert block(text, "step {").splitlines()[1:5] == ["after {", "clip", "optimize", "logger every 25 updates"]
    epoch = block(text, "epoch {")
    # Lightning saves after each validation (every 2 epochs here), so each save ranks a new result
    assert epoch.index("evaluate every 2 epochs") < epoch.index("save     every 2 epochs") and "stop" not in epoch
    # each validation's results: judged by EarlyStopping when it ends (on_validation_end), and one record at its
    # own step, right after it
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter {\nstop\nlogger\n}\n}"
    assert "RichProgressBar" not in text and "after { save }" not in text
    assert "must define: train_loader" in result.err


def test_lightning_steps_and_custom_callback(tmp_path: Path) -> None:
    _, text = imported("lightning", IMPORT / "lightning/steps_with_custom_callback.yaml", tmp_path)
    assert "max_step        = 20000" in text and 'optimizer       = "torch.optim.AdamW"()' in text
    step = block(text, "step {")
    assert "evaluate every 500 steps" in step and "save     every 1000 updates" in step
    assert 'hook save             = checkpoint(dir = "checkpoints/lm")' in text  # save_top_k = -1 keeps all
    assert re.search(r'"my_project.callbacks.TokenThroughput"\(window = 100, tokens_per_batch = 4096\) +# hookpipe '
                     r"import: Lightning callback my_project.callbacks.TokenThroughput: port it", text)


def test_lightning_max_steps_count_optimizer_steps(tmp_path: Path) -> None:
    config = tmp_path / "acc.yaml"
    config.write_text("trainer:\n  max_steps: 100\n  accumulate_grad_batches: 8\n  limit_val_batches: 0\n"
                      "  enable_checkpointing: false\n")
    _, text = imported("lightning", config, tmp_path, "--module", "my.port")
    assert "max_step          = 800" in text and "grad_accumulation = 8" in text
    assert "validation" not in text and "checkpoint" not in text
    assert 'use project = "my.port"\n' in text


def test_lightning_without_length_is_marked(tmp_path: Path) -> None:
    config = tmp_path / "bare.yaml"
    config.write_text("trainer:\n  max_epochs: -1\n")
    _, text = imported("lightning", config, tmp_path)
    assert "max_epoch = 1000  # hookpipe import: Lightning's default" in text


# --- RoboOrchard Lab --------------------------------------------------------------------------------------------

def test_robo_trainer_hooks_from_the_real_package(tmp_path: Path) -> None:
    _, text = imported("robo", IMPORT / "robo/trainer_hooks.json", tmp_path)
    assert ('hook save_checkpoint             = "hookpipe.runtime.hooks.SaveCheckpointConfig"(save_epoch_freq = 1, '
            'save_model = true, save_root = "runs/robo/checkpoints", save_step_freq = 200, save_when_loop_end = true)'
            ) in text
    # each seed hook in every phase the seed registers it on, in the trainer's registration order
    assert block(text, "step {").splitlines()[1:6] == [
        "after {", "optimize", "loss_moving_average_tracker", "save_checkpoint", "save_model"]
    epoch = block(text, "epoch {")
    assert epoch.endswith("after {\nsave_checkpoint\nsave_model\n}\n}")
    assert text.endswith("    after {\n        save_checkpoint\n        save_model\n    }\n}\n")
    assert "class_type" not in text and "__config_type__" not in text


def test_robo_project_hook_is_marked(tmp_path: Path) -> None:
    _, text = imported("robo", IMPORT / "robo/project_hooks.json", tmp_path)
    assert re.search(r'hook grad_norm_probe += "__main__.GradNormProbeConfig"\(log_freq = 20\)  # hookpipe import: '
                     r"GradNormProbeConfig is not a RoboOrchard Lab hook.*defined in a script", text)


def test_robo_trainer_object_with_module_needs_nobody(tmp_path: Path) -> None:
    hooks = json.loads((IMPORT / "robo/trainer_hooks.json").read_text())
    source = tmp_path / "trainer.json"
    source.write_text(json.dumps({"max_step": 300, "grad_clip": {"clip_mode": "norm", "max_norm": 2.0},
                                  "validation": {"step_eval_freq": 100, "epoch_eval_freq": None}, "hooks": hooks}))
    result, text = imported("robo", source, tmp_path, "--module", "examples.ports.robo.train")
    assert result.code == 0 and MARK not in text
    assert "nothing needs a person" in result.err
    assert "examples.ports.robo.train must define: model: " in result.err
    assert block(text, "step {").splitlines()[1:5] == ["after {", "clip", "optimize", "evaluate every 100 steps"]


# --- the command ------------------------------------------------------------------------------------------------

def test_existing_output_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out.pipe"
    out.write_text("keep me\n")
    source = IMPORT / "robo/trainer_hooks.json"
    result = do_import("robo", source, out)
    assert result.code == 2 and "exists; pass --force to replace it" in result.err
    assert out.read_text() == "keep me\n"
    assert do_import("robo", source, out, "--force").code == 1
    assert out.read_text().startswith("# Written by `hookpipe import robo`")


@pytest.mark.parametrize(("kind", "name", "text", "message"), [
    ("robo", "bad.json", "[{", "bad.json:1: not JSON"),
    ("robo", "obj.json", '{"hooks": 3}', "expected a list of hook configs"),
    ("robo", "nokind.json", '[{"save_root": "x"}]', "hooks[0] has no `__config_type__`"),
    ("lightning", "bad.yaml", "trainer: [\n", "bad.yaml:2:"),
    ("lightning", "list.yaml", "- 1\n", "expected a mapping with a `trainer` section"),
    ("robo", "binary.json", "\udcff", "not valid UTF-8"),
])
def test_bad_input_is_a_usage_error_and_writes_nothing(tmp_path: Path, kind: str, name: str, text: str,
                                                       message: str) -> None:
    source = tmp_path / name
    source.write_bytes(text.encode("utf-8", "surrogateescape"))
    out = tmp_path / "out.pipe"
    result = do_import(kind, source, out)
    assert result.code == 2 and message in result.err, result.err
    assert not out.exists() and "Traceback" not in result.err


def test_usage_errors(tmp_path: Path) -> None:
    assert do_import("robo", tmp_path / "missing.json", tmp_path / "o.pipe").err.endswith("no such file\n")
    assert "must be a .pipe file" in do_import("robo", IMPORT / "robo/trainer_hooks.json", tmp_path / "o.txt").err
    assert "not a dotted Python module name" in do_import(
        "robo", IMPORT / "robo/trainer_hooks.json", tmp_path / "o.pipe", "--module", "a b").err
    assert run_cli("import", "keras", "x", "-o", "y.pipe").code == 2
    missing_folder = do_import("robo", IMPORT / "robo/trainer_hooks.json", tmp_path / "nope/o.pipe")
    assert missing_folder.code == 2 and "does not exist (create it first)" in missing_folder.err
    assert not list(tmp_path.iterdir())


def test_file_values_cannot_inject_lines(tmp_path: Path) -> None:
    evil = 'x"\n}\nhook pwn = optimizer()\n# '
    source = tmp_path / "evil.json"
    source.write_text(json.dumps({"max_epoch": 2, "hooks": [
        {"__config_type__": f"evil.mod:Bad{evil}Config", "arg": evil},
        {"__config_type__": "robo_orchard_lab.pipeline.hooks.checkpoint:SaveCheckpointConfig", "save_root": evil}]}))
    _, text = imported("robo", source, tmp_path)
    hooks = [line.split()[1] for line in text.splitlines() if line.startswith("hook ")]
    assert hooks == ["optimize", "badx_hook_pwn_optimizer", "save_checkpoint"]
    assert 'save_root = "x\\"\\n}\\nhook pwn = optimizer()\\n# "' in text
    notes = " ".join(note for _, note in marked_lines(text.splitlines()))  # a long one goes on over lines
    assert "the class path 'evil.mod.Badx\"\\n}\\nhook pwn = optimizer()\\n# Config' is not a dotted" in notes


def test_hook_names_stay_unique_as_hooks_are_added() -> None:
    """Kept as hooks are added (asked afresh, 6,000 hooks of one type took 11 s)."""
    from hookpipe.porting.model import Hook, Port

    port = Port("n", "s", "mmengine")
    names = [port.add_hook(Hook(name, "checkpoint")).name for name in ("save_2", "save", "save", "save", "save_3")]
    assert names == ["save_2", "save", "save_3", "save_4", "save_3_2"]
    many = [port.add_hook(Hook("ema", "ema")).name for _ in range(3000)]
    assert len(set(many)) == 3000 and many[-1] == "ema_3000"


def test_pipe_names() -> None:
    assert pipe_name("mmdet.engine.hooks.SyncNormHook") == "sync_norm"
    assert pipe_name("EarlyStopping") == "early_stopping"
    assert pipe_name("every") == "every_hook" and pipe_name("3d-Hook") == "hook_3d"


@pytest.mark.slow
def test_robo_fixtures_are_what_the_real_package_writes(tmp_path: Path) -> None:
    """Regenerates the JSON fixtures with RoboOrchard Lab 0.4.0 (tests/compat's venv) and compares."""
    import subprocess

    from tests.compat.peer import seed_python

    script = IMPORT / "robo/make_hooks.py"
    subprocess.run([seed_python(), str(script), str(tmp_path)], check=True, cwd=ROOT, capture_output=True)
    for name in ("trainer_hooks.json", "project_hooks.json", "tutorial_hooks.json"):
        assert (tmp_path / name).read_text() == (IMPORT / "robo" / name).read_text()
