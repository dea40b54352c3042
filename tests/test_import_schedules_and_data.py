"""``hookpipe import``: learning-rate schedules stepped per epoch, the seed and the dataloaders' arguments.

Lightning steps a configured ``lr_scheduler`` once per epoch unless its config says
``interval: step``; hookpipe steps ``trainer.lr_scheduler`` once per optimizer update.
The import writes a schedule as is only where the two agree, converts the per-epoch
schedules that have an exact per-update form, and marks the rest. MMEngine's
``randomness`` and both importers' dataloader arguments are carried, or marked where
they cannot be (docs/import.md).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from hookpipe.porting.writer import MARK
from tests.helpers import run_cli
from tests.test_import import block, imported

SCHEDULER = ("lr_scheduler:\n  class_path: torch.optim.lr_scheduler.CosineAnnealingLR\n"
             "  init_args:\n    T_max: 10\n")


def lightning(tmp_path: Path, body: str, trainer: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text("seed_everything: 0\ntrainer:\n  max_epochs: 10\n  limit_val_batches: 0\n"
                      f"  enable_checkpointing: false\n  logger: false\n{trainer}"
                      "model:\n  class_path: my_project.Net\noptimizer:\n  class_path: torch.optim.SGD\n"
                      "  init_args:\n    lr: 0.1\n" + body, encoding="utf-8")
    return config


def setting(text: str, key: str) -> str:
    """The ``trainer`` line of ``key``, without its alignment padding."""
    line = next(line for line in text.splitlines() if line.strip().startswith(f"{key} "))
    return re.sub(r"^\s*(\w+)\s+=", r"\1 =", line)


# --- Lightning: when the scheduler steps ----------------------------------------------------------------------

def test_lightning_scheduler_stepped_per_epoch_is_marked_not_changed(tmp_path: Path) -> None:
    result, text = imported("lightning", lightning(tmp_path, SCHEDULER), tmp_path, "--module", "my_project")
    line = setting(text, "lr_scheduler")
    code, mark, note = line.partition(MARK)
    # the per-update torch call is not written: it would anneal over 10 updates instead of 10 epochs
    assert code.strip() == ('lr_scheduler = project.lr_scheduler(class_path = "torch.optim.lr_scheduler.'
                            'CosineAnnealingLR", init_args = { T_max = 10 }, updates_per_epoch = run.updates_per_epoch)')
    assert mark and note.strip() == (
        "Lightning steps CosineAnnealingLR once per epoch, hookpipe once per update: write project.lr_scheduler "
        "to step it once every updates_per_epoch updates, or count its arguments in updates")
    assert result.code == 1 and "lr_scheduler: the learning-rate schedule, stepped once per update" in result.err


def test_lightning_epoch_scheduler_under_accumulation_counts_updates_per_epoch(tmp_path: Path) -> None:
    """The factory gets run.updates_per_epoch (ceil(steps_per_epoch / 4) here), not a 4 it would hard-code: the
    count stays right when the run changes the accumulation (`--set trainer.grad_accumulation=8`)."""
    config = lightning(tmp_path, SCHEDULER + "  interval: epoch\n  frequency: 2\n",
                       trainer="  accumulate_grad_batches: 4\n")
    _, text = imported("lightning", config, tmp_path)
    code, _, note = setting(text, "lr_scheduler").partition(MARK)
    assert code.strip().endswith("init_args = { T_max = 10 }, updates_per_epoch = run.updates_per_epoch)")
    assert "steps_per_epoch" not in code
    assert "Lightning steps CosineAnnealingLR once per 2 epochs" in note
    assert "once every updates_per_epoch x 2 updates" in note and "ceil" not in note


@pytest.mark.parametrize("body", [
    SCHEDULER + "  interval: step\n",  # Lightning's config keys beside class_path
    "lr_scheduler:\n  scheduler:\n    class_path: torch.optim.lr_scheduler.CosineAnnealingLR\n    init_args:\n"
    "      T_max: 10\n  interval: step\n  frequency: 1\n",  # or wrapping it, as configure_optimizers returns it
])
def test_lightning_scheduler_stepped_per_step_is_written_as_is(tmp_path: Path, body: str) -> None:
    result, text = imported("lightning", lightning(tmp_path, body), tmp_path, "--module", "my_project")
    assert setting(text, "lr_scheduler") == 'lr_scheduler = "torch.optim.lr_scheduler.CosineAnnealingLR"(T_max = 10)'
    assert result.code == 0 and "nothing needs a person" in result.err


def test_lightning_step_scheduler_with_a_frequency_is_marked(tmp_path: Path) -> None:
    _, text = imported("lightning", lightning(tmp_path, SCHEDULER + "  interval: step\n  frequency: 5\n"), tmp_path,
                       "--module", "my_project")
    code, mark, note = setting(text, "lr_scheduler").partition(MARK)
    assert code.strip() == 'lr_scheduler = "torch.optim.lr_scheduler.CosineAnnealingLR"(T_max = 10)'
    assert note.strip() == ("Lightning steps CosineAnnealingLR every 5 optimizer steps (frequency 5); hookpipe steps "
                            "it every update: count its arguments in updates")


EXPONENTIAL = "lr_scheduler:\n  class_path: ExponentialLR\n  init_args:\n    gamma: 0.5\n"
STEP_EVERY_EPOCH = ("lr_scheduler:\n  class_path: torch.optim.lr_scheduler.StepLR\n  init_args:\n    step_size: 1\n"
                    "    gamma: 0.5\n")


@pytest.mark.parametrize("trainer", ["", "  accumulate_grad_batches: 2\n"])
@pytest.mark.parametrize("body", [EXPONENTIAL, STEP_EVERY_EPOCH])
def test_lightning_per_epoch_decay_is_converted_exactly(tmp_path: Path, body: str, trainer: str) -> None:
    # under accumulation too: run.updates_per_epoch is an epoch's updates (both end a window at an epoch's end)
    result, text = imported("lightning", lightning(tmp_path, body, trainer), tmp_path, "--module", "my_project")
    assert setting(text, "lr_scheduler") == \
        'lr_scheduler = "torch.optim.lr_scheduler.StepLR"(step_size = run.updates_per_epoch, gamma = 0.5)'
    assert result.code == 0


@pytest.mark.parametrize("trainer", ["  precision: 16-mixed\n", "  limit_train_batches: 0.5\n"])
def test_lightning_per_epoch_decay_is_marked_where_updates_are_not_batches(tmp_path: Path, trainer: str) -> None:
    # fp16 (the scaler skips scheduler steps), a shortened epoch
    _, text = imported("lightning", lightning(tmp_path, EXPONENTIAL, trainer), tmp_path, "--module", "my_project")
    assert setting(text, "lr_scheduler").startswith("lr_scheduler = project.lr_scheduler(class_path = "
                                                    '"torch.optim.lr_scheduler.ExponentialLR"')
    assert "Lightning steps ExponentialLR once per epoch" in setting(text, "lr_scheduler")


@pytest.mark.parametrize("accumulation", [1, 2, 3])
def test_the_exact_conversion_gives_every_update_lightnings_learning_rate(accumulation: int) -> None:
    """ExponentialLR stepped after each epoch (Lightning) and StepLR(step_size = run.updates_per_epoch) stepped
    after each update (the import's output) set the same lr for every update, under accumulation too: both end
    a window at the epoch's last batch (7 batches, accumulation 2: updates after batches 2, 4, 6 and 7)."""
    torch = pytest.importorskip("torch")
    from hookpipe.compiler.run_values import RunSize

    steps_per_epoch, epochs = 7, 4
    per_epoch = RunSize.of(None, epochs, steps_per_epoch, accumulation, 1).updates_per_epoch

    def schedule(make: object, per_update: bool) -> list[float]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = make(optimizer)  # type: ignore[operator]
        used = []
        for _ in range(epochs):
            for batch in range(steps_per_epoch):
                if (batch + 1) % accumulation and batch + 1 < steps_per_epoch:
                    continue  # no update on this batch
                used.append(optimizer.param_groups[0]["lr"])
                optimizer.step()
                if per_update:
                    scheduler.step()
            if not per_update:
                scheduler.step()
        return used

    lightning_lrs = schedule(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.5), per_update=False)
    imported_lrs = schedule(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=per_epoch, gamma=0.5),
                            per_update=True)
    assert len(lightning_lrs) == epochs * math.ceil(steps_per_epoch / accumulation)
    assert imported_lrs == pytest.approx(lightning_lrs, rel=1e-12)
    assert not math.isclose(lightning_lrs[0], lightning_lrs[-1])


def test_lightning_plateau_keeps_its_monitor_from_the_config_keys(tmp_path: Path) -> None:
    body = ("lr_scheduler:\n  scheduler:\n    class_path: torch.optim.lr_scheduler.ReduceLROnPlateau\n"
            "    init_args:\n      factor: 0.5\n  monitor: val_loss\n")
    config = lightning(tmp_path, body)
    config.write_text(config.read_text().replace("  limit_val_batches: 0\n", ""))
    _, text = imported("lightning", config, tmp_path, "--module", "my_project")
    assert 'lr_plateau(monitor = "evaluate.val_loss", factor = 0.5)' in text and "lr_scheduler " not in text


def test_lightning_precision_that_is_not_a_value_is_marked_not_a_traceback(tmp_path: Path) -> None:
    result, text = imported("lightning", lightning(tmp_path, "", trainer="  precision: [16]\n"), tmp_path,
                            "--module", "my_project")
    assert "precision [16] has no hookpipe setting" in setting(text, "mixed_precision")
    assert "Traceback" not in result.err


# --- Lightning: the DataModule's arguments -------------------------------------------------------------------

def test_lightning_datamodule_arguments_go_to_train_loader(tmp_path: Path) -> None:
    body = ("data:\n  class_path: my_project.CircleData\n  init_args:\n    batch_size: 16\n    num_workers: 2\n"
            "    every: 3\n    prefetch-factor: 2\n")
    result, text = imported("lightning", lightning(tmp_path, body), tmp_path, "--module", "my_project")
    code, mark, note = setting(text, "dataloader").partition(MARK)
    # `every` is a reserved word, which an argument's name may be; `prefetch-factor` is no name: named for a person
    assert code.strip() == "dataloader = project.train_loader(batch_size = 16, num_workers = 2, every = 3)"
    assert note.strip() == "left out data.init_args prefetch-factor (no .pipe literal): give train_loader their values"
    assert "train_loader: the training DataLoader (my_project.CircleData.train_dataloader(), taking the " \
           "DataModule's init_args: batch_size, num_workers, every)" in result.err


# --- MMEngine: randomness and the dataloaders ---------------------------------------------------------------

MM = ("train_cfg = dict(by_epoch=True, max_epochs=2)\nval_cfg = dict()\n"
      "train_dataloader = dict(batch_size=16, num_workers=2, persistent_workers=True,\n"
      "    sampler=dict(type='DefaultSampler', shuffle=True), dataset=dict(type='CircleDataset'))\n"
      "val_dataloader = dict(batch_size=64, num_workers=2, dataset=dict(type='CircleDataset', split='val'))\n"
      "val_evaluator = dict(type='Accuracy')\n"
      "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n")


def mmengine(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "cfg.py"
    config.write_text(MM + extra, encoding="utf-8")
    return config


def test_mmengine_seed_and_loader_arguments_are_carried(tmp_path: Path) -> None:
    result, text = imported("mmengine", mmengine(tmp_path, "randomness = dict(seed=0, deterministic=False)\n"),
                            tmp_path, "--module", "my_project", "--no-execute")
    assert setting(text, "seed") == "seed = 0"
    assert setting(text, "dataloader") == \
        "dataloader = project.train_loader(batch_size = 16, num_workers = 2, persistent_workers = true)"
    assert "validation(callback = project.val_step, dataloader = project.val_loader(batch_size = 64, " \
           "num_workers = 2))" in text
    assert "train_loader: the training DataLoader (train_dataloader: dataset CircleDataset, sampler DefaultSampler; " \
           "taking batch_size, num_workers, persistent_workers)" in result.err
    assert result.code == 0


def test_mmengine_without_randomness_has_no_seed(tmp_path: Path) -> None:
    _, text = imported("mmengine", mmengine(tmp_path, "randomness = dict(seed=None)\n"), tmp_path,
                       "--module", "my_project", "--no-execute")
    assert "seed" not in text


def test_mmengine_randomness_it_cannot_carry_is_marked(tmp_path: Path) -> None:
    extra = "randomness = dict(seed=3, deterministic=True, diff_rank_seed=True)\n"
    _, text = imported("mmengine", mmengine(tmp_path, extra), tmp_path, "--module", "my_project", "--no-execute")
    code, _, note = setting(text, "seed").partition(MARK)
    assert code.strip() == "seed = 3" and "diff_rank_seed adds each process's rank to the seed" in note
    code, _, note = setting(text, "model").partition(MARK)
    assert code.strip() == "model = project.build_model()"
    assert "randomness.deterministic: hookpipe has no such setting" in note


def test_mmengine_seed_that_is_not_a_literal_is_marked(tmp_path: Path) -> None:
    extra = "import random\nrandomness = dict(seed=random.randint(0, 9))\n"
    _, text = imported("mmengine", mmengine(tmp_path, extra), tmp_path, "--module", "my_project", "--no-execute")
    code, mark, note = setting(text, "seed").partition(MARK)
    assert code.strip() == "seed = 0" and mark
    assert note.strip() == "randomness.seed is random.randint(0, 9), not an integer >= 0: set the seed"


def test_mmengine_loader_argument_that_is_not_a_literal_is_marked(tmp_path: Path) -> None:
    config = mmengine(tmp_path)
    config.write_text(config.read_text().replace("batch_size=16", "batch_size=int('16')"))
    _, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    code, mark, note = setting(text, "dataloader").partition(MARK)
    assert code.strip() == "dataloader = project.train_loader(num_workers = 2, persistent_workers = true)"
    assert mark and note.strip() == ("left out train_dataloader batch_size (not literal values): give train_loader "
                                     "their values")


def test_marked_epoch_schedule_does_not_resolve_until_a_person_writes_it(tmp_path: Path) -> None:
    """The marked factory is the user's: ``check --resolve`` refuses the file until the module defines it."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'port'\n", encoding="utf-8")
    (tmp_path / "sched_project.py").write_text("def train_loader(batch_size=32):\n    return []\n",
                                               encoding="utf-8")
    imported("lightning", lightning(tmp_path, SCHEDULER), tmp_path, "--module", "sched_project")
    done = run_cli("check", "--resolve", str(tmp_path / "out.pipe"))
    assert done.code == 1
    assert "trainer setting `lr_scheduler`: cannot resolve 'sched_project:lr_scheduler'" in done.output, done.output
    assert "trainer setting `dataloader`" not in done.output  # train_loader(batch_size = ...) resolves


def test_lightning_scheduler_interval_lightning_does_not_know_is_marked(tmp_path: Path) -> None:
    _, text = imported("lightning", lightning(tmp_path, SCHEDULER + "  interval: batch\n"), tmp_path,
                       "--module", "my_project")
    note = setting(text, "lr_scheduler").partition(MARK)[2]
    assert "once per epoch (interval 'batch' is neither step nor epoch), hookpipe once per update" in note


@pytest.mark.parametrize(("visualizer", "expected"), [
    ("", 'log_with = ["csv"]'),  # MMEngine's default backend: LocalVisBackend
    ("visualizer = dict(type='Visualizer', vis_backends=[dict(type='TensorboardVisBackend'), "
     "dict(type='LocalVisBackend')])\n", 'log_with = ["tensorboard", "csv"]'),
])
def test_mmengine_logger_hook_logs_to_the_visualizer_s_trackers(tmp_path: Path, visualizer: str,
                                                                expected: str) -> None:
    # A LoggerHook became a log() with no tracker: records that went nowhere (HP111).
    config = mmengine(tmp_path, "default_hooks = dict(logger=dict(type='LoggerHook', interval=10))\n" + visualizer)
    _, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    assert "log()" in text and setting(text, "log_with") == expected
    lint = run_cli("lint", "--select", "HP111", str(tmp_path / "out.pipe"))
    assert lint.code == 0 and "HP111" not in lint.output


def test_mmengine_visualizer_backend_without_a_tracker_is_marked(tmp_path: Path) -> None:
    config = mmengine(tmp_path, "default_hooks = dict(logger=dict(type='LoggerHook'))\n"
                      "visualizer = dict(type='Visualizer', vis_backends=[dict(type='MyBackend')])\n")
    _, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    line = next(x for x in text.splitlines() if x.strip().startswith("log_with"))
    assert line.startswith('    log_with = ["csv"]') and MARK in line and "MyBackend" in line


@pytest.mark.parametrize(("limit", "says"), [("25", "trains 25 batches an epoch"),
                                             ("0.25", "trains the fraction 0.25 of the batches an epoch")])
def test_lightning_limit_train_batches_is_marked_on_the_loader(tmp_path: Path, limit: str, says: str) -> None:
    # It was dropped without a word: the port trained every batch of each epoch.
    _, text = imported("lightning", lightning(tmp_path, "", trainer=f"  limit_train_batches: {limit}\n"), tmp_path,
                       "--module", "my_project")
    code, mark, note = setting(text, "dataloader").partition(MARK)
    assert mark and says in note and "make train_loader yield that many" in note
    whole = tmp_path / "whole"
    whole.mkdir()
    _, plain = imported("lightning", lightning(whole, "", trainer="  limit_train_batches: 1.0\n"), whole,
                        "--module", "my_project")
    assert MARK not in setting(plain, "dataloader")


def test_lightning_settings_that_change_what_trains_are_marked_on_the_run_s_length(tmp_path: Path) -> None:
    # max_time, min_epochs, overfit_batches... were ignored without a word.
    _, text = imported("lightning", lightning(tmp_path, "", trainer="  max_time: '00:01:00:00'\n  min_epochs: 3\n"
                                                                   "  num_sanity_val_steps: 0\n"),
                       tmp_path, "--module", "my_project")
    code, mark, note = setting(text, "max_epoch").partition(MARK)
    assert code.strip() == "max_epoch = 10" and mark
    assert "Lightning's max_time stops after a wall-clock time" in note and "Lightning's min_epochs" in note
    assert "overfit_batches" not in note
    # Lightning's sanity check is hookpipe's: its count carries over.
    assert setting(text, "sanity_val_batches") == "sanity_val_batches = 0"


def test_lightning_placement_and_torch_flags_are_marked_on_the_cpu_line(tmp_path: Path) -> None:
    # devices, strategy, num_nodes, deterministic and benchmark were dropped without a word.
    _, text = imported("lightning", lightning(tmp_path, "", trainer="  devices: 4\n  num_nodes: 2\n"
                                                                   "  strategy: deepspeed_stage_2\n"
                                                                   "  deterministic: true\n  benchmark: true\n"),
                       tmp_path, "--module", "my_project")
    code, mark, note = setting(text, "cpu").partition(MARK)
    assert code.strip() == "cpu = false" and mark
    assert "Lightning's devices 4: hookpipe run --processes 4" in note
    assert "num_nodes 2: accelerate launch on each machine" in note
    assert "strategy 'deepspeed_stage_2': needs an accelerate config" in note
    assert note.endswith("deterministic, benchmark: set torch's flags in the model factory")


def test_lightning_accelerator_cpu_is_cpu_true_and_one_device_writes_nothing(tmp_path: Path) -> None:
    _, text = imported("lightning", lightning(tmp_path, "", trainer="  accelerator: cpu\n  devices: 1\n"),
                       tmp_path, "--module", "my_project")
    assert setting(text, "cpu") == "cpu = true"
    plain = tmp_path / "plain"
    plain.mkdir()
    _, text = imported("lightning", lightning(plain, "", trainer="  devices: 1\n"), plain, "--module", "my_project")
    assert "cpu =" not in text
    ddp = tmp_path / "ddp"
    ddp.mkdir()
    _, text = imported("lightning", lightning(ddp, "", trainer="  devices: auto\n  strategy: ddp\n"), ddp,
                       "--module", "my_project")
    assert setting(text, "cpu").endswith("# hookpipe import: Lightning's strategy 'ddp': hookpipe run --processes N")


def _with_validation(tmp_path: Path, trainer: str, checkpoint: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text("trainer:\n  max_epochs: 4\n" + trainer + "  callbacks:\n"
                      "    - class_path: lightning.pytorch.callbacks.ModelCheckpoint\n"
                      "      init_args:\n        monitor: val_acc\n        mode: max\n        save_top_k: 2\n"
                      + checkpoint + "model:\n  class_path: my_project.Net\n", encoding="utf-8")
    return config


def test_lightning_checkpoint_without_a_trigger_saves_after_each_validation(tmp_path: Path) -> None:
    # Lightning saves after each validation; in epoch.after, where no validation runs, it ranked nothing.
    _, text = imported("lightning", _with_validation(tmp_path, "  val_check_interval: 50\n"
                                                               "  check_val_every_n_epoch: null\n"),
                       tmp_path, "--module", "my_project")
    step_after = block(text, "step {").splitlines()
    assert step_after.index("evaluate every 50 steps") < step_after.index("save     every 50 steps")
    assert "save" not in block(text, "epoch {").replace(block(text, "step {"), "")
    every_2 = tmp_path / "every2"
    every_2.mkdir()
    _, text = imported("lightning", _with_validation(every_2, "  check_val_every_n_epoch: 2\n"), every_2,
                       "--module", "my_project")
    assert "evaluate every 2 epochs" in text and "save     every 2 epochs" in text


def test_lightning_checkpoint_with_its_own_trigger_keeps_it(tmp_path: Path) -> None:
    _, text = imported("lightning", _with_validation(tmp_path, "  val_check_interval: 50\n"
                                                               "  check_val_every_n_epoch: null\n",
                                                     "        every_n_train_steps: 100\n"),
                       tmp_path, "--module", "my_project")
    assert "save     every 100 updates" in block(text, "step {")


def test_lightning_ckpt_path_is_marked_with_the_resume_that_does_it(tmp_path: Path) -> None:
    config = lightning(tmp_path, "ckpt_path: last\n")
    _, text = imported("lightning", config, tmp_path, "--module", "my_project")
    assert setting(text, "max_epoch").endswith(
        "# hookpipe import: Lightning's ckpt_path 'last' resumes: hookpipe run FILE --resume auto")
