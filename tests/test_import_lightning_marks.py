"""``hookpipe import lightning``: no setting is dropped or changed without a mark.

An unmarked line of an imported file promises a faithful translation. These
configs hold what a Lightning user writes and the import used to lose without a
word: ``check_val_every_n_epoch`` beside ``val_check_interval``, ``EarlyStopping``'s
thresholds, ``ModelCheckpoint``'s ``filename``, ``LearningRateMonitor``'s
``logging_interval``, ``max_steps`` under accumulation, the default logger, and any
trainer key or callback argument the import does not know (docs/import.md).
"""

from __future__ import annotations

import re
import textwrap
from itertools import takewhile
from pathlib import Path

from hookpipe.porting.lightning_keys import Keys
from hookpipe.porting.writer import CONTINUED, MARK, MAX_NOTE, marked_lines
from tests.helpers import run_cli
from tests.test_import import block, imported


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(text: str, start: str) -> tuple[str, str]:
    """The code and the mark (empty when unmarked) of the first line that starts with ``start`` (stripped)."""
    lines = [line.partition(MARK) for line in text.splitlines()]
    code, _, note = next(parts for parts in lines if re.sub(r"\s+", " ", parts[0].strip()).startswith(start))
    return re.sub(r"\s+", " ", code.strip()), note.strip()


# --- 1. when Lightning validates --------------------------------------------------------------------------------

def test_check_val_every_n_epoch_beside_an_integer_interval_is_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 4
          check_val_every_n_epoch: 2
          val_check_interval: 10
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "evaluate every")
    # the closest form: Lightning counts each epoch's batches (batch_idx), as `every N batches` does
    assert code == "evaluate every 10 batches"
    # what Lightning does, and what the file does instead
    assert note == ("Lightning validates every 10 batches, in one epoch of every 2; "
                    "here every 10 batches of every epoch")
    # Lightning's default ModelCheckpoint saves after each validation: the same difference, so marked too
    code, note = line_of(text, "save")
    assert code == "save every 10 batches" and "Lightning saves after each validation" in note


def test_an_integer_interval_counts_the_epochs_batches_unmarked(tmp_path: Path) -> None:
    """Lightning validates when ``(batch_idx + 1) % val_check_interval == 0``, ``batch_idx`` the batch's index in
    its epoch (``check_val_every_n_epoch: 1``, its default): ``every N batches``, exact, so no mark; the default
    ModelCheckpoint saves after each of those validations, as often."""
    source = config(tmp_path, """\
        trainer:
          max_epochs: 4
          val_check_interval: 250
          callbacks:
            - class_path: lightning.pytorch.callbacks.EarlyStopping
              init_args:
                monitor: val_loss
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    step_after = block(text, "step {")
    assert line_of(text, "evaluate every") == ("evaluate every 250 batches", "")
    assert line_of(text, "save every") == ("save every 250 batches", "")
    assert step_after.index("evaluate") < step_after.index("save") and "stop" not in step_after
    assert "stop" in block(text, "validation evaluate {")  # judged when each validation ends
    assert "steps" not in step_after
    # check_val_every_n_epoch given as 1 is the same
    again = tmp_path / "again"
    again.mkdir()
    _, text = imported("lightning", config(again, """\
        trainer:
          max_epochs: 4
          check_val_every_n_epoch: 1
          val_check_interval: 250
        """), again, "--module", "my_project")
    assert line_of(text, "evaluate every") == ("evaluate every 250 batches", "")
    assert line_of(text, "save every") == ("save every 250 batches", "")


def test_an_integer_interval_fires_where_lightning_validates(tmp_path: Path) -> None:
    """``explain --steps``: with 7 batches an epoch and ``val_check_interval: 3``, Lightning validates after
    batches 3 and 6 of each epoch (global steps 3, 6, 10, 13), not at the run's 9th and 12th; with
    ``check_val_every_n_epoch: null`` it counts the run's batches (3, 6, 9, 12)."""
    expected = {"1": [3, 6, 10, 13], "null": [3, 6, 9, 12]}
    for epochs, steps in expected.items():
        folder = tmp_path / epochs
        folder.mkdir()
        source = config(folder, f"""\
            trainer:
              max_epochs: 2
              check_val_every_n_epoch: {epochs}
              val_check_interval: 3
              enable_checkpointing: false
            """)
        out = folder / "out.pipe"
        run_cli("import", "lightning", str(source), "--module", "my_project", "-o", str(out))
        done = run_cli("explain", str(out), "--steps", "14", "--steps-per-epoch", "7")
        assert done.code == 0, done.output
        fired = [int(row.split()[0]) for row in done.out.splitlines()
                 if "step.after" in row and "evaluate" in row]
        assert fired == steps, (epochs, done.out)


def test_an_interval_of_one_validates_every_batch_and_saves_and_stops_at_the_epochs_end(tmp_path: Path) -> None:
    """``val_check_interval: 1`` equals Lightning's ``1.0``: ModelCheckpoint saves, and EarlyStopping judges, at
    the training epoch's end (``_should_save_on_train_epoch_end``, ``check_on_train_epoch_end``), not after
    each of the validations."""
    source = config(tmp_path, """\
        trainer:
          max_epochs: 4
          val_check_interval: 1
          callbacks:
            - class_path: lightning.pytorch.callbacks.EarlyStopping
              init_args:
                monitor: val_loss
            - class_path: lightning.pytorch.callbacks.ModelCheckpoint
              init_args:
                monitor: val_loss
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    step_after = block(text, "step {")
    assert line_of(text, "evaluate every") == ("evaluate every batch", "")
    assert "stop" not in step_after and "save" not in step_after
    epoch_after = block(text, "epoch {").replace(step_after, "")
    assert re.search(r"^stop$", epoch_after, re.M) and re.search(r"^save +every epoch$", epoch_after, re.M)
    assert "check_on_train_epoch_end" not in text
    # check_on_train_epoch_end: false judges after each validation
    again = tmp_path / "again"
    again.mkdir()
    _, text = imported("lightning", config(again, """\
        trainer:
          max_epochs: 4
          val_check_interval: 1
          enable_checkpointing: false
          callbacks:
            - class_path: lightning.pytorch.callbacks.EarlyStopping
              init_args:
                monitor: val_loss
                check_on_train_epoch_end: false
        """), again, "--module", "my_project")
    assert "evaluate every batch" in block(text, "step {") and "stop" in block(text, "validation evaluate {")
    assert "check_on_train_epoch_end" not in text


def test_check_val_every_n_epoch_beside_a_fraction_keeps_the_epochs_and_is_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 4
          check_val_every_n_epoch: 2
          val_check_interval: 0.5
          enable_checkpointing: false
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "evaluate")
    # the epoch-end validations of every 2nd epoch are exact; the mid-epoch ones are marked
    assert code == "evaluate every 2 epochs"
    assert note == ("Lightning validates 2 times an epoch (val_check_interval 0.5), in one epoch of every 2; "
                    "here at the epoch's end only: attach it `every N batches` for the others")


def test_a_time_based_interval_and_a_limited_validation_are_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 4
          val_check_interval: "00:00:10:00"
          limit_val_batches: 0.25
          enable_checkpointing: false
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "evaluate every")
    assert code == "evaluate every epoch"
    assert note == ("not translated: val_check_interval '00:00:10:00' (validation runs every N batches, steps or "
                    "epochs)")
    code, note = line_of(text, "hook evaluate")
    assert note == ("Lightning's limit_val_batches validates the fraction 0.25 of the batches: make val_loader "
                    "yield that many")


# --- 2. EarlyStopping -------------------------------------------------------------------------------------------

def test_early_stopping_arguments_without_an_equivalent_are_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 10
          check_val_every_n_epoch: 2
          enable_checkpointing: false
          callbacks:
            - class_path: lightning.pytorch.callbacks.EarlyStopping
              init_args:
                monitor: val_loss
                patience: 4
                min_delta: 0.01
                stopping_threshold: 0.05
                divergence_threshold: 9.0
                check_finite: false
                verbose: true
                log_rank_zero_only: true
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "hook stop")
    assert code == 'hook stop = early_stop(monitor = "evaluate.val_loss", mode = "min", patience = 4, min_delta = 0.01)'
    assert note == ("monitor 'val_loss': name the metric val_step returns; init_args not translated: "
                    "stopping_threshold 0.05, divergence_threshold 9.0 (early_stop has no threshold)")
    # check_finite false is what early_stop does; verbose and log_rank_zero_only only change what is printed


def test_early_stopping_strictness_and_checks_at_training_epoch_ends_are_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 10
          check_val_every_n_epoch: 2
          enable_checkpointing: false
          callbacks:
            - class_path: lightning.pytorch.callbacks.EarlyStopping
              init_args: {monitor: val_loss, strict: false, check_on_train_epoch_end: true}
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    # validation every 2 epochs: Lightning would judge the same result again at the end of the epochs between
    assert line_of(text, "hook stop")[1] == (
        "monitor 'val_loss': name the metric val_step returns; init_args not translated: strict false (a missing "
        "metric fails here), check_on_train_epoch_end true (judged once per validation here); "
        "Lightning also stops on a NaN or inf (check_finite)")


def test_early_stopping_patience_zero_and_lightning_s_finite_check(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 10
          enable_checkpointing: false
          callbacks:
            - class_path: lightning.pytorch.callbacks.EarlyStopping
              init_args:
                monitor: val_acc
                mode: max
                patience: 0
                min_delta: -0.5
                check_on_train_epoch_end: true
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "hook stop")
    # Lightning stops at the first result that does not improve with patience 0, as early_stop does with 1
    # (it used to become the default, 3); with validation ending every epoch, checking at the training
    # epoch's end is checking after it
    assert code == 'hook stop = early_stop(monitor = "evaluate.val_acc", mode = "max", patience = 1)'
    assert note == ("monitor 'val_acc': name the metric val_step returns; init_args not translated: "
                    "min_delta -0.5 (early_stop takes min_delta >= 0); "
                    "Lightning also stops on a NaN or inf (check_finite)")


# --- 3. ModelCheckpoint -----------------------------------------------------------------------------------------

def test_model_checkpoint_file_names_and_weights_only_are_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 10
          callbacks:
            - class_path: lightning.pytorch.callbacks.ModelCheckpoint
              init_args:
                dirpath: ckpts
                filename: "{epoch}-{step}-{val_loss:.3f}"
                save_weights_only: true
                auto_insert_metric_name: true
                verbose: true
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "hook save")
    assert code == 'hook save = checkpoint(dir = "ckpts", keep_last = 1)'
    assert note == ("init_args not translated: filename '{epoch}-{step}-{val_loss:.3f}' (checkpoints are step-N "
                    "folders), save_weights_only true (checkpoint saves the whole training state)")


def test_every_n_train_steps_counts_updates_and_save_top_k_minus_one_keeps_all(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 10
          accumulate_grad_batches: 4
          callbacks:
            - class_path: lightning.pytorch.callbacks.ModelCheckpoint
              init_args:
                monitor: val_loss
                save_top_k: -1
                every_n_train_steps: 5
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    # Lightning's global_step counts optimizer steps: 5 of them are 20 batches here
    assert line_of(text, "save every") == ("save every 5 updates", "")
    code, _ = line_of(text, "hook save")
    # save_top_k -1 keeps every checkpoint: no keep_last (it used to keep only the newest)
    assert code == 'hook save = checkpoint(dir = "lightning_logs/checkpoints", monitor = "evaluate.val_loss", mode = "min")'


def test_every_n_epochs_where_lightning_saves_at_other_validations_is_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 12
          check_val_every_n_epoch: 2
          callbacks:
            - class_path: lightning.pytorch.callbacks.ModelCheckpoint
              init_args:
                every_n_epochs: 3
                every_n_train_steps: 0
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "save every")
    # Lightning saves at the end of a validation (epochs 2, 4, ...) whose epoch is a multiple of 3: 6, 12
    assert code == "save every 3 epochs"
    assert note == "every_n_epochs 3: Lightning saves at the end of each validation in those epochs, here at their ends"
    # every_n_train_steps 0 beside every_n_epochs is Lightning's "off": nothing to mark
    assert line_of(text, "hook save") == ('hook save = checkpoint(dir = "lightning_logs/checkpoints", keep_last = 1)',
                                          "")


# --- 4. LearningRateMonitor -------------------------------------------------------------------------------------

def test_lr_monitor_logging_interval_epoch_logs_once_an_epoch(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 10
          enable_checkpointing: false
          logger:
            class_path: lightning.pytorch.loggers.CSVLogger
            init_args: {save_dir: logs}
          callbacks:
            - class_path: lightning.pytorch.callbacks.LearningRateMonitor
              init_args:
                logging_interval: epoch
                log_momentum: true
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    # the monitor joins the loggers' log() (which records lr/<i>): one hook, no lr_monitor of its own
    assert text.count("= log()") == 1 and line_of(text, "hook logger")[0] == "hook logger = log()"
    # the training values every log_every_n_steps (Lightning's 50) updates, as without the monitor
    assert line_of(text, "logger every") == ("logger every 50 updates", "")
    epoch = block(text, "epoch {").splitlines()
    assert epoch[epoch.index("evaluate every epoch") + 1] == "logger"  # logging_interval epoch: at its end too
    _, note = line_of(text, "hook logger")
    assert note == "init_args not translated: log_momentum true (log() records the lr only)"


def test_lr_monitor_without_logging_interval_logs_where_lightning_does(tmp_path: Path) -> None:
    body = textwrap.dedent("""\
        trainer:
          max_epochs: 10
          log_every_n_steps: 20
          enable_checkpointing: false
          logger: {class_path: lightning.pytorch.loggers.CSVLogger, init_args: {save_dir: logs}}
          callbacks: [{class_path: lightning.pytorch.callbacks.LearningRateMonitor}]
        """)
    # no scheduler: Lightning logs the optimizer's rate every log_every_n_steps updates and at each epoch's start
    _, text = imported("lightning", config(tmp_path, body), tmp_path, "--module", "my_project")
    assert "logger every 20 updates" in block(text, "step {")
    assert "after {\nevaluate every epoch\nlogger\n}" in block(text, "epoch {")
    # a scheduler stepped per optimizer step: its rate when it steps, every log_every_n_steps updates only
    stepped = tmp_path / "stepped"
    stepped.mkdir()
    source = config(stepped, body + "lr_scheduler:\n  class_path: torch.optim.lr_scheduler.StepLR\n"
                                    "  init_args: {step_size: 3}\n  interval: step\n")
    _, text = imported("lightning", source, stepped, "--module", "my_project")
    assert "logger every 20 updates" in block(text, "step {")
    assert "after { evaluate every epoch }" in block(text, "epoch {")


# --- 5. the safety net: any key no translation took ---------------------------------------------------------------

def test_unknown_trainer_keys_and_callback_arguments_are_named(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          profiler: simple
          a_future_trainer_flag: 3
          sync_batchnorm: true
          inference_mode: true
          use_distributed_sampler: true
          detect_anomaly: false
          limit_test_batches: 0.5
          plugins: null
          enable_progress_bar: false
          callbacks:
            - class_path: lightning.pytorch.callbacks.ModelCheckpoint
              init_args: {a_future_argument: 7, save_on_train_epoch_end: null}
            - class_path: lightning.pytorch.callbacks.LearningRateMonitor
              init_args: {logging_interval: step, log_key_prefix: opt}
            - class_path: lightning.pytorch.callbacks.EarlyStopping
              init_args: {monitor: val_loss, another_one: [1, 2]}
          logger:
            - class_path: lightning.pytorch.loggers.TensorBoardLogger
              init_args: {save_dir: tb, name: lightning_logs, version: 3}
            - class_path: my_project.loggers.NeptuneLogger
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    # the trainer's keys: on the line that stands in for the Trainer's loop; those at a value where
    # hookpipe does what Lightning does (or that fit never uses) are not named
    _, note = line_of(text, "batch_processor")
    assert note == ("Lightning trainer keys not translated: profiler 'simple', a_future_trainer_flag 3, "
                    "sync_batchnorm true (convert the model in its factory)")
    assert line_of(text, "progress") == ("progress = false", "")
    assert line_of(text, "hook save")[1] == "init_args not translated: a_future_argument 7"
    assert line_of(text, "hook logger")[1] == "init_args not translated: log_key_prefix 'opt' (log() names it lr/GROUP)"
    assert "init_args not translated: another_one [1, 2]" in line_of(text, "hook stop")[1]
    assert line_of(text, "log_with") == ('log_with = ["tensorboard"]', "TensorBoardLogger init_args not translated: "
                                         "version 3; logger 'my_project.loggers.NeptuneLogger' not translated: "
                                         "log_with names accelerate's trackers")


def test_a_mark_too_long_for_one_line_goes_on_below_it_and_loses_no_key(tmp_path: Path) -> None:
    """A config with many keys the import does not know: every one is named, in the file and on stderr.

    A mark used to be cut at 240 characters, so the keys past the cut were dropped
    without a word. A long note now continues on comment lines under its line.
    """
    keys = [f"an_unknown_trainer_option_{i}" for i in range(24)] + ["a_key_longer_than_a_line_" + "x" * 110]
    source = config(tmp_path, "trainer:\n  max_epochs: 3\n" + "".join(f"  {key}: {i}\n" for i, key in enumerate(keys)))
    result, text = imported("lightning", source, tmp_path, "--module", "my_project")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("batch_processor"))
    continued = list(takewhile(lambda line: line.strip().startswith(CONTINUED), lines[start + 1:]))
    # wrapped at spaces only: a word longer than a line stays whole on a line of its own
    assert continued and all(len(line) <= 140 or "x" * 110 in line for line in continued)
    note = " ".join([lines[start].partition(MARK)[2].strip(), *(line.strip()[len(CONTINUED):].strip()
                                                               for line in continued)])
    assert note == "Lightning trainer keys not translated: " + ", ".join(f"{key} {i}" for i, key in enumerate(keys))
    # stderr names the line once, with the whole note (the keys at its end included)
    assert f"out.pipe:{start + 1}: needs a person: {note}\n" in result.err
    # the file is formatted as fmt leaves it, and a second import writes the same
    assert run_cli("fmt", "--check", str(tmp_path / "out.pipe")).code == 0


def test_a_note_from_a_config_built_to_be_huge_stays_bounded(tmp_path: Path) -> None:
    source = config(tmp_path, "trainer:\n  max_epochs: 3\n" + "".join(f"  k{i:05d}: {i}\n" for i in range(3000)))
    result, text = imported("lightning", source, tmp_path, "--module", "my_project")
    (_, note), = [mark for mark in marked_lines(text.splitlines()) if "trainer keys" in mark[1]]
    assert note.startswith("Lightning trainer keys not translated: k00000 0, k00001 1,") and note.endswith("...")
    assert "k02999" not in note and MAX_NOTE - 10 < len(note) <= MAX_NOTE


def test_keys_left_leave_out_null_and_settled_values() -> None:
    keys = Keys({"a": 1, "b": None, "c": True, "d": 1, "e": "x"}, settled={"c": (True,), "d": (True,)},
                why={"e": "no such thing"})
    assert keys.take("a") == 1
    # b is null (Lightning's default), c is settled; d is 1, not true: a value is settled only as itself
    assert keys.left() == ["d", "e"]
    assert keys.untranslated("not translated") == "not translated: d 1, e 'x' (no such thing)"
    assert keys.left() == [] and keys.untranslated("again") is None  # each key is named once


def test_placement_keys_the_import_does_not_know_are_marked_on_the_cpu_line(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          accelerator: {class_path: my.Accelerator}
          deterministic: warn
          strategy:
            class_path: lightning.pytorch.strategies.DDPStrategy
            init_args: {find_unused_parameters: true, process_group_backend: null}
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "cpu")
    assert code == "cpu = false"
    assert note == ("Lightning's strategy 'DDPStrategy': hookpipe run --processes N; DDPStrategy init_args not "
                    "translated: find_unused_parameters true; not translated: accelerator {'class_path': "
                    "'my.Accelerator'}, deterministic 'warn'")


# --- 6. max_steps under accumulation ------------------------------------------------------------------------------

def test_max_steps_under_accumulation_is_converted_and_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_steps: 24
          accumulate_grad_batches: 4
          limit_val_batches: 0
          enable_checkpointing: false
          logger: false
        """)
    result, text = imported("lightning", source, tmp_path, "--module", "my_project")
    assert text.count(MARK) == 1 and "1 line marked `# hookpipe import:` needs a person" in result.err
    code, note = line_of(text, "max_step")
    assert code == "max_step = 96"
    assert note == ("Lightning's max_steps 24 counts optimizer steps: 96 batches are 24 updates only if every "
                    "epoch's batch count is a multiple of 4 (an epoch's end also ends a window)")
    plain = tmp_path / "plain"
    plain.mkdir()
    _, text = imported("lightning", config(plain, "trainer:\n  max_steps: 24\n  limit_val_batches: 0\n"
                                                  "  enable_checkpointing: false\n  logger: false\n"), plain,
                       "--module", "my_project")
    assert line_of(text, "max_step") == ("max_step = 24", "")  # every batch is an update: exact


# --- 7. Lightning's default logger ------------------------------------------------------------------------------

def test_logging_without_a_logger_key_gets_lightning_s_default_logger(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          default_root_dir: runs/exp
          enable_checkpointing: false
          callbacks: [{class_path: lightning.pytorch.callbacks.LearningRateMonitor,
                       init_args: {logging_interval: step}}]
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    code, note = line_of(text, "log_with")
    assert code == 'log_with = ["csv"]'
    assert note == ("Lightning's default logger: TensorBoardLogger where tensorboard is installed, else CSVLogger; "
                    'write ["tensorboard"] for the former')
    assert line_of(text, "log_dir") == ('log_dir = "runs/exp/lightning_logs"', "")
    # the imported file passes its own lint: its log() records go somewhere (HP111 before)
    lint = run_cli("lint", "--select", "HP111", str(tmp_path / "out.pipe"))
    assert lint.code == 0, lint.output


def test_logger_false_keeps_no_tracker_and_marks_the_lr_monitor(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          logger: false
          enable_checkpointing: false
          callbacks: [{class_path: lightning.pytorch.callbacks.LearningRateMonitor}]
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    assert "log_with" not in text
    assert line_of(text, "hook lr_monitor")[1] == ("Lightning refuses a LearningRateMonitor with logger: false; "
                                                   "here log() writes to no tracker")


# --- 8. what Lightning's loggers record: the training values, and each validation's results --------------------

def test_a_logger_without_a_learning_rate_monitor_logs_what_lightning_logs(tmp_path: Path) -> None:
    """The trial's config without its LearningRateMonitor used to get `log_with` and no log() at all (no
    metrics.csv), and `log_every_n_steps 10` marked with no reason: Lightning logs the training values every
    log_every_n_steps optimizer steps, and each validation's results at its step."""
    source = config(tmp_path, """\
        trainer:
          max_epochs: 5
          accumulate_grad_batches: 2
          val_check_interval: 50
          log_every_n_steps: 10
          logger:
            class_path: lightning.pytorch.loggers.CSVLogger
            init_args: {save_dir: runs}
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    assert line_of(text, "hook logger") == ("hook logger = log()", "")
    assert line_of(text, "logger every") == ("logger every 10 updates", "")  # Lightning counts optimizer steps
    # right after each validation, wherever and as often as it runs: one record per result, at its step
    assert line_of(text, "evaluate every") == ("evaluate every 50 batches", "")
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter { logger }\n}"
    assert "log_every_n_steps" not in text and text.count("log()") == 1
    assert (line_of(text, "log_with"), line_of(text, "log_dir")) == (('log_with = ["csv"]', ""),
                                                                     ('log_dir = "runs"', ""))
    lint = run_cli("lint", "--warnings-as-errors", str(tmp_path / "out.pipe"))
    assert lint.code == 0, lint.output


def test_lightning_s_default_logger_logs_every_fifty_updates(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          enable_checkpointing: false
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    assert line_of(text, "logger every") == ("logger every 50 updates", "")  # log_every_n_steps' default
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter { logger }\n}"
    assert line_of(text, "log_with")[0] == 'log_with = ["csv"]'  # marked: TensorBoard where it is installed
    lint = run_cli("lint", "--warnings-as-errors", str(tmp_path / "out.pipe"))
    assert lint.code == 0, lint.output


def test_logger_false_logs_nothing(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          log_every_n_steps: 10
          logger: false
        """)
    result, text = imported("lightning", source, tmp_path, "--module", "my_project")
    # no log(), no tracker, and log_every_n_steps counts nothing Lightning writes: not marked either
    assert "log()" not in text and "log_with" not in text and "validation evaluate" not in text
    assert "log_every_n_steps" not in text and result.code == 0


def test_a_log_interval_that_is_no_count_is_marked_on_the_logger_s_attachment(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          log_every_n_steps: 0.5
          logger: {class_path: lightning.pytorch.loggers.CSVLogger, init_args: {save_dir: logs}}
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    assert line_of(text, "logger every") == ("logger every 50 updates", "not translated: log_every_n_steps 0.5")


def test_a_monitor_logging_each_epoch_adds_a_record_at_each_epoch_s_end(tmp_path: Path) -> None:
    """logging_interval epoch: the learning rate at each epoch's end, in the one log() (which records lr/<i>);
    with validation every 50 batches that is another phase than the validation's, so no HP107."""
    source = config(tmp_path, """\
        trainer:
          max_epochs: 3
          val_check_interval: 50
          logger: {class_path: lightning.pytorch.loggers.CSVLogger, init_args: {save_dir: logs}}
          callbacks:
            - class_path: lightning.pytorch.callbacks.LearningRateMonitor
              init_args: {logging_interval: epoch}
            - class_path: lightning.pytorch.callbacks.LearningRateMonitor
              init_args: {logging_interval: epoch}
        """)
    _, text = imported("lightning", source, tmp_path, "--module", "my_project")
    assert text.count("log()") == 1
    assert block(text, "epoch {").endswith("after { logger }\n}")  # once, though two monitors ask for it
    assert line_of(text, "logger every") == ("logger every 50 updates", "")
    lint = run_cli("lint", "--warnings-as-errors", str(tmp_path / "out.pipe"))
    assert lint.code == 0, lint.output


def test_the_trial_s_print_config_imports_lint_clean_with_warnings_as_errors(tmp_path: Path) -> None:
    """The whole `--print_config` output of the trial: one log() every 10 updates and after each validation, the
    checkpoint's save_last as keep_last (no save in loop.after: HP108), nothing else to warn about."""
    from tests.test_import import IMPORT

    _, text = imported("lightning", IMPORT / "lightning/print_config.yaml", tmp_path, "--module", "my_project")
    lint = run_cli("lint", "--warnings-as-errors", str(tmp_path / "out.pipe"))
    assert lint.code == 0, lint.output + text
    assert text.count("log()") == 1 and "lr_monitor" not in text
    step_after = block(text, "step {").splitlines()
    assert step_after[1:-2] == ["after {", "clip", "optimize", "evaluate every 50 batches",
                                "save     every 50 batches", "logger   every 10 updates"]
    # EarlyStopping judges each result when its validation ends (Lightning's on_validation_end)
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter {\nstop\nlogger\n}\n}"
    assert block(text, "loop {").count("after {") == 1  # the step's: nothing at the loop's end
    assert line_of(text, "hook save") == (
        'hook save = checkpoint(dir = "runs/checkpoints", monitor = "evaluate.val_loss", mode = "min", '
        'keep_best = 2, keep_last = 1)', "monitor 'val_loss': name the metric val_step returns")


# --- 9. ModelCheckpoint's save_last -----------------------------------------------------------------------------

SAVE_LAST = """\
    trainer:
      max_epochs: 4
      val_check_interval: 20
      logger: false
      callbacks:
        - class_path: lightning.pytorch.callbacks.ModelCheckpoint
          init_args:
            monitor: val_loss
            save_top_k: TOP_K
            save_last: LAST
"""


def save_last(tmp_path: Path, top_k: str = "2", last: str = "true", more: str = "") -> str:
    body = SAVE_LAST.replace("TOP_K", top_k).replace("LAST", last) + (textwrap.indent(more, " " * 12) if more else "")
    _, text = imported("lightning", config(tmp_path, body), tmp_path, "--module", "my_project")
    return text


def test_save_last_is_keep_last_beside_the_best_with_no_save_at_the_run_s_end(tmp_path: Path) -> None:
    """Lightning's last.ckpt is written at every save, beside the top-k: checkpoint keeps its keep_last newest
    and its keep_best best, and --resume latest takes the newest. Exact, so unmarked; a save in loop.after
    (what the import used to add) is one Lightning never writes, and HP108 warns of it."""
    for last in ("true", "link"):  # "link": last.ckpt is a link to the newest save; the same one is kept
        folder = tmp_path / last
        folder.mkdir()
        text = save_last(folder, last=last)
        assert line_of(text, "hook save") == (
            'hook save = checkpoint(dir = "lightning_logs/checkpoints", monitor = "evaluate.val_loss", mode = "min", '
            'keep_best = 2, keep_last = 1)', "monitor 'val_loss': name the metric val_step returns")
        assert line_of(text, "save every") == ("save every 20 batches", "")
        assert "after { save }" not in text and block(text, "loop {").count("after {") == 1
        lint = run_cli("lint", "--warnings-as-errors", str(folder / "out.pipe"))
        assert lint.code == 0, lint.output


def test_save_last_with_no_top_k_keeps_the_newest_only(tmp_path: Path) -> None:
    text = save_last(tmp_path, top_k="0")
    # Lightning keeps last.ckpt alone: the newest save, nothing ranked to keep
    assert line_of(text, "hook save")[0].endswith('mode = "min", keep_last = 1)')
    assert "save_top_k" not in text


def test_save_last_where_lightning_writes_last_at_other_saves_is_marked(tmp_path: Path) -> None:
    """With every_n_train_steps Lightning writes last.ckpt at each validation too, where this hook does not save:
    the newest kept is the newest of this hook's saves, the closest form, marked."""
    text = save_last(tmp_path, more="every_n_train_steps: 30\n")
    code, note = line_of(text, "hook save")
    assert code.endswith("keep_best = 2, keep_last = 1)")
    assert "save_last: Lightning also writes last.ckpt at each validation" in note
    assert line_of(text, "save every") == ("save every 30 updates", "") and "after { save }" not in text


def test_a_save_last_lightning_does_not_know_is_marked(tmp_path: Path) -> None:
    text = save_last(tmp_path, last="sometimes")
    assert "init_args not translated: save_last 'sometimes'" in line_of(text, "hook save")[1]
