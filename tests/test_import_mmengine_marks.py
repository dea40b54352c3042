"""``hookpipe import mmengine``: no setting is dropped or changed without a mark.

An unmarked line of an imported file promises a faithful translation. These
configs hold what an MMEngine user writes and the import used to lose without a
word: ``work_dir`` (every port shared one checkpoint folder), values the reader
does not evaluate (``int('20')``, ``{{_base_.x}} * 4``) replaced by defaults, a
``by_epoch`` checkpoint in an iteration loop saving every step, ``save_best`` lists
and intervals, and top-level or hook keys the import does not translate
(docs/import.md, "Nothing is dropped without a mark").
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from hookpipe.porting.writer import MARK, marked_lines
from tests.helpers import run_cli
from tests.test_import import block, imported

#: What a config of MMEngine's shape needs besides the part under test (a torch optimizer, one epoch loop).
BASE = """\
model = dict(type='ImageClassifier')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=32)
val_cfg = dict()
val_evaluator = dict(type='Accuracy')
"""


def config(tmp_path: Path, text: str, name: str = "cfg.py", base: str = BASE) -> Path:
    """The config file ``name`` in a folder of its own (``imported`` writes ``out.pipe`` beside it)."""
    folder = tmp_path / Path(name).stem
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(base + textwrap.dedent(text), encoding="utf-8")
    return path


def port(source: Path, *extra: str) -> str:
    """The import of ``source`` (into its folder), after ``imported``'s checks."""
    return imported("mmengine", source, source.parent, *extra)[1]


def line_of(text: str, start: str) -> tuple[str, str]:
    """The code and the whole mark (empty when unmarked) of the first line that starts with ``start`` (stripped)."""
    lines = text.splitlines()
    marks = dict(marked_lines(lines))
    number = next(n for n, line in enumerate(lines, 1)
                  if re.sub(r"\s+", " ", line.partition(MARK)[0].strip()).startswith(start))
    return re.sub(r"\s+", " ", lines[number - 1].partition(MARK)[0].strip()), marks.get(number, "")


# --- 1. work_dir ------------------------------------------------------------------------------------------------

def test_work_dir_names_the_checkpoint_and_log_folders(tmp_path: Path) -> None:
    hooks = "default_hooks = dict(logger=dict(type='LoggerHook'), checkpoint=dict(type='CheckpointHook', interval=1))\n"
    # the config's work_dir (a leading ./ dropped), else MMEngine's ./work_dirs/<config file stem>
    own = port(config(tmp_path, hooks + "work_dir = './work_dirs/exp_a/'\n", "a.py"), "--module", "my_project")
    default = port(config(tmp_path, hooks, "exp_b.py"), "--module", "my_project")
    assert line_of(own, "hook save") == ('hook save = checkpoint(dir = "work_dirs/exp_a/checkpoints")', "")
    assert line_of(own, "log_dir") == ('log_dir = "work_dirs/exp_a/logs"', "")
    assert line_of(default, "hook save") == ('hook save = checkpoint(dir = "work_dirs/exp_b/checkpoints")', "")
    assert line_of(default, "log_dir") == ('log_dir = "work_dirs/exp_b/logs"', "")
    # CheckpointHook(out_dir=X): MMEngine saves into X/<basename of work_dir>
    out_dir = hooks.replace("interval=1)", "interval=1, out_dir='/data/ckpts')")
    text = port(config(tmp_path, out_dir + "work_dir = 'work_dirs/exp_c'\n", "c.py"), "--module", "my_project")
    assert line_of(text, "hook save") == ('hook save = checkpoint(dir = "/data/ckpts/exp_c")', "")
    assert line_of(text, "log_dir") == ('log_dir = "work_dirs/exp_c/logs"', "")
    # a work_dir that is not a literal string: the default, marked on each line that uses it
    text = port(config(tmp_path, "import os\n" + hooks + "work_dir = os.environ['WORK']\n", "d.py"),
                "--module", "my_project")
    for start in ("hook save", "log_dir"):
        code, note = line_of(text, start)
        assert "work_dirs/d/" in code
        assert note == ("work_dir os.environ['WORK'] is not a literal string: MMEngine's default work_dirs/d "
                        "written; set the folder by hand")


# --- 2. values that are not literals ----------------------------------------------------------------------------

def test_values_that_are_not_literals_are_marked_with_their_source(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        import os
        train_cfg = dict(max_epochs=24, val_interval=round(24 / 6))
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1), accumulative_counts=int('2'),
                             clip_grad=dict(max_norm=float(os.environ.get('CLIP', 10))))
        default_hooks = dict(
            logger=dict(type='LoggerHook', interval=int('20')),
            checkpoint=dict(type='CheckpointHook', interval=round(24 / 6), max_keep_ckpts=int(os.environ['KEEP']),
                            save_best='accuracy', rule=os.environ.get('RULE', 'greater')))
        custom_hooks = [dict(type='EMAHook', update_buffers=os.environ.get('BUF'), priority=int('49'))]
        """)
    text = port(source, "--module", "my_project", "--no-execute")
    assert "Opaque" not in text
    assert line_of(text, "hook logger")[1] == ("LoggerHook.interval int('20') is not a literal integer: MMEngine's "
                                               "default 10 written; set it by hand")
    code, note = line_of(text, "hook save")
    assert code == ('hook save = checkpoint(dir = "work_dirs/cfg/checkpoints", monitor = "evaluate.accuracy", '
                    'mode = "max", keep_best = 1)')
    assert "CheckpointHook.interval round(24 / 6) is not a literal integer: no periodic save written" in note
    assert "CheckpointHook.max_keep_ckpts int(os.environ['KEEP']) is not a literal integer: every checkpoint kept" \
        in note
    assert "CheckpointHook rule os.environ.get('RULE', 'greater') is not a literal 'greater' or 'less'" in note
    assert line_of(text, "evaluate")[1] == ("train_cfg.val_interval round(24 / 6) is not a literal integer: "
                                            "MMEngine's default 1 written; set it by hand")
    assert "optim_wrapper.accumulative_counts int('2') is not a literal integer: no accumulation written" \
        in line_of(text, "optimizer")[1]
    # a grad_clip without its value would not check: no hook, and optimize says what to add
    assert not re.search(r"^hook clip", text, re.M)
    assert line_of(text, "hook optimize")[1] == (
        "optim_wrapper.clip_grad.max_norm float(os.environ.get('CLIP', 10)) is not a literal number: no clipping "
        'written; set it by hand; add `hook clip = grad_clip(mode = "norm", max_norm = ...)` before optimize')
    note = line_of(text, "hook ema")[1]
    assert "EMAHook.update_buffers os.environ.get('BUF') is not True or False" in note
    assert "EMAHook.priority int('49') is not a number or a priority name" in note


# --- 3. a by_epoch checkpoint in an iteration loop ---------------------------------------------------------------

def test_by_epoch_checkpoint_in_an_iteration_loop_saves_at_the_end_only(tmp_path: Path) -> None:
    # MMEngine's CheckpointHook saves a by_epoch checkpoint in after_train_epoch, which an IterBasedTrainLoop calls
    # once, at its end: saved there (save_last, or an interval dividing 1), never every iteration
    source = config(tmp_path, """\
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=100)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_last=False))
        """)
    text = port(source, "--module", "my_project")
    assert "save" not in block(text, "step {")
    assert "after { save }" in text
    assert line_of(text, "hook save")[1] == (
        "CheckpointHook by_epoch is left on (MMEngine's default) in an IterBasedTrainLoop: MMEngine saves once, at "
        "the run's end, as here; set by_epoch=False in the config to save every N iterations")
    # interval 2 without save_last: every_n_epochs(2) is false after the one epoch, so MMEngine never saves; a hook
    # never attached would be HP103: none is declared, and the run's length says so
    text = port(config(tmp_path, source.read_text().replace("interval=1,", "interval=2,"), "b.py", base=""),
                "--module", "my_project")
    assert "hook save" not in text and "= checkpoint(" not in text
    assert line_of(text, "max_step")[1] == (
        "CheckpointHook by_epoch is left on (MMEngine's default) in an IterBasedTrainLoop: MMEngine never saves, as "
        "here; set by_epoch=False in the config to save every N iterations; no checkpoint hook is written")


# --- 4. keys no translation took --------------------------------------------------------------------------------

def test_runtime_keys_without_a_translation_are_marked(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        train_cfg = dict(max_epochs=12)
        auto_scale_lr = dict(enable=True, base_batch_size=64)
        load_from = 'work_dirs/pretrain/epoch_100.pth'
        env_cfg = dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
                       dist_cfg=dict(backend='nccl'))
        model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
        log_processor = dict(window_size=50, by_epoch=True)
        default_hooks = dict(
            logger=dict(type='LoggerHook', interval=10),
            checkpoint=dict(type='CheckpointHook', interval=1, save_optimizer=False, filename_tmpl='ep_{}.pth',
                            save_begin=0, some_new_argument=3))
        dataset_type = 'DigitsDataset'
        """)
    text = port(source, "--module", "my_project")
    assert line_of(text, "optimizer")[1] == (
        "auto_scale_lr is enabled: MMEngine multiplies the lr by processes x batch_size / base_batch_size 64 "
        "(16/64 = 0.25 on one process): write the scaled lr")
    assert line_of(text, "max_epoch")[1] == (
        "load_from 'work_dirs/pretrain/epoch_100.pth': MMEngine loads these weights before training; hookpipe run "
        "FILE --weights-from DIR starts from a hookpipe checkpoint's weights: load an MMEngine .pth in the model "
        "factory")
    # a config variable (dataset_type) is no Runner key; env_cfg's settled keys (fork, nccl) are not named
    assert line_of(text, "batch_processor")[1] == (
        "env_cfg: cudnn_benchmark True (set torch.backends.cudnn.benchmark = True in the model factory); MMEngine keys "
        "not translated: model_wrapper_cfg {'type': 'MMDistributedDataParallel', 'find_unused_parame... (accelerate "
        "wraps the model; hookpipe sets no DDP options)")
    assert line_of(text, "hook logger")[1] == ("log_processor keys not translated: window_size 50 (log() records "
                                               "each logged step's values, not a mean over a window)")
    # a key nobody listed (some_new_argument) is named too; save_begin=0 is MMEngine's default
    assert line_of(text, "hook save")[1] == (
        "CheckpointHook keys not translated: some_new_argument 3, save_optimizer False (checkpoint saves the whole "
        "training state), filename_tmpl 'ep_{}.pth' (checkpoints are step-N folders)")


def test_resume_is_marked_with_the_run_flag(tmp_path: Path) -> None:
    text = port(config(tmp_path, "train_cfg = dict(max_epochs=2)\nresume = True\n"), "--module", "my_project")
    assert line_of(text, "max_epoch") == ("max_epoch = 2", "resume=True: MMEngine resumes from the newest checkpoint "
                                                           "in work_dir, or starts anew: run hookpipe run FILE "
                                                           "--resume auto")


def test_ema_interval_and_begin_epoch_are_marked_with_what_to_write(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        train_cfg = dict(max_epochs=12)
        custom_hooks = [dict(type='EMAHook', momentum=0.001, interval=4, begin_epoch=3)]
        """)
    text = port(source, "--module", "my_project")
    code, note = line_of(text, "hook ema")
    assert code == "hook ema = ema(decay = 0.999, warmup = false)"
    assert note == (
        "EMAHook interval 4: MMEngine averages every 4th iteration, ema after every update: set decay to about "
        "decay^(1/4) = 0.99974991 by hand; EMAHook begin_epoch 3: MMEngine averages from epoch 3 on (before, the "
        "average is the live weights): attach ema `every step from K`, K the first step of epoch 3, 2 x steps per "
        "epoch + 1")


def test_save_best_list_ranks_the_first_metric_by_its_own_rule(tmp_path: Path) -> None:
    source = config(tmp_path, """\
        train_cfg = dict(max_epochs=12)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best=['accuracy/top1', 'loss'],
                                             rule=['greater', 'less']))
        """)
    text = port(source, "--module", "my_project")
    code, note = line_of(text, "hook save")
    assert 'monitor = "evaluate.accuracy_top1", mode = "max", keep_best = 1' in code
    assert note.endswith("save_best lists 2 metrics, accuracy/top1 (greater), loss (less): MMEngine keeps the best "
                         "checkpoint of each; this ranks by the first only")
    # without a rule, MMEngine infers it from the name: `loss` is ranked lower-is-better
    text = port(config(tmp_path, "default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, "
                                 "save_best='loss'))\n", "b.py"), "--module", "my_project")
    assert 'monitor = "evaluate.loss", mode = "min", keep_best = 1' in line_of(text, "hook save")[0]


# --- 5. save_best and the checkpoint interval -------------------------------------------------------------------

def test_save_best_at_fewer_saves_than_validations_is_marked(tmp_path: Path) -> None:
    hook = ("train_cfg = dict(max_epochs=12, val_interval={val})\n"
            "default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval={save}, save_best='acc'))\n")
    text = port(config(tmp_path, hook.format(val=1, save=3)), "--module", "my_project")
    assert line_of(text, "hook save")[1].endswith(
        "MMEngine saves the best checkpoint at each validation (every epoch from 1); this one ranks only the "
        "checkpoints it saves (every 3 epochs from 3): attach it as often as evaluate for MMEngine's choice")
    # a save at every validation ranks every validation, as MMEngine does
    text = port(config(tmp_path, hook.format(val=4, save=2), "b.py"), "--module", "my_project")
    assert "MMEngine saves the best checkpoint" not in text


def test_save_begin_becomes_from(tmp_path: Path) -> None:
    # MMEngine saves at epoch e when e >= save_begin and (e - save_begin) % interval == 0: 4, 6, 8, ...
    source = config(tmp_path, """\
        train_cfg = dict(max_epochs=12)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, save_begin=4, save_last=False))
        """)
    text = port(source, "--module", "my_project")
    assert re.search(r"^save +every 2 epochs from 4$", block(text, "epoch {"), re.M)
    assert line_of(text, "hook save")[1] == ""


def test_iteration_loop_validates_every_1000_iterations_by_default(tmp_path: Path) -> None:
    # IterBasedTrainLoop's val_interval defaults to 1000 (EpochBasedTrainLoop's to 1)
    text = port(config(tmp_path, "train_cfg = dict(type='IterBasedTrainLoop', max_iters=3000)\n"),
                "--module", "my_project")
    assert "evaluate every 1000 steps" in block(text, "step {")


def test_an_iteration_loop_logs_every_interval_and_at_the_end_not_at_passes_over_the_data(tmp_path: Path) -> None:
    """MMEngine's IterBasedTrainLoop has no epochs: a log in epoch.after wrote records at every pass over
    the data (steps 16, 32, 48 of a 16-batch loader), which MMEngine never writes."""
    text = port(config(tmp_path, """\
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=60, val_interval=20)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=5))
        """), "--module", "my_project")
    attached = [" ".join(line.split()) for line in text.splitlines() if line.strip().startswith("logger")]
    assert attached == ["logger every 5 steps and at end"]
    # and the validation's results in its own `after`, at the validation's step (MMEngine's after_val_epoch)
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter { logger }\n}"
    # ignore_last=False is MMEngine's end_of_epoch at a global iteration there: marked, as before
    text = port(config(tmp_path, """\
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=60, val_interval=20)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=5, ignore_last=False))
        """, name="last.py"), "--module", "my_project")
    assert line_of(text, "logger every")[0] == "logger every 5 steps and at end"
    assert line_of(text, "hook logger")[1] == ("LoggerHook keys not translated: ignore_last False (in an "
                                               "IterBasedTrainLoop log() logs every N steps and at the run's end)")
    # an epoch loop: the validation's record in its own `after` too, none at an epoch's end (MMEngine logs there
    # only after a validation: with val_interval=2, at epochs 2 and 3)
    text = port(config(tmp_path, """\
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=2)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=5))
        """, name="epochs.py"), "--module", "my_project")
    attached = [" ".join(line.split()) for line in text.splitlines() if line.strip().startswith("logger")]
    assert attached == ["logger every 5 batches"]
    assert "logger" not in block(text, "epoch {").replace(block(text, "step {"), "")
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter { logger }\n}"


def test_an_epoch_loop_logs_every_interval_batches_of_each_epoch(tmp_path: Path) -> None:
    """MMEngine's LoggerHook.after_train_iter logs when ``every_n_inner_iters(batch_idx, interval)``,
    ``(batch_idx + 1) % interval == 0`` with ``batch_idx`` the batch's index in its epoch: ``every N batches``
    (counted from 1 again each epoch), unmarked; ``every N steps`` counted the run's batches."""
    text = port(config(tmp_path, """\
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=50, ignore_last=True))
        """), "--module", "my_project")
    assert line_of(text, "logger every") == ("logger every 50 batches", "")
    assert line_of(text, "hook logger") == ("hook logger = log()", "")


def test_an_epoch_loop_logger_with_ignore_last_false_logs_each_epochs_last_batch(tmp_path: Path) -> None:
    """``ignore_last=False``: MMEngine also logs at the epoch's last batch (``end_of_epoch``), the record of the
    shorter last window: ``and at end`` on the batches, exact, so ignore_last is no longer marked."""
    text = port(config(tmp_path, """\
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=5, ignore_last=False))
        """), "--module", "my_project")
    assert line_of(text, "logger every") == ("logger every 5 batches and at end", "")
    assert line_of(text, "hook logger") == ("hook logger = log()", "")
    # with 7 batches an epoch: batches 5 and 7 of each epoch, global steps 5, 7, 12, 14
    done = run_cli("explain", str(tmp_path / "cfg" / "out.pipe"), "--steps", "14", "--steps-per-epoch", "7")
    fired = [int(row.split()[0]) for row in done.out.splitlines() if "step.after" in row and "logger" in row]
    assert done.code == 0 and fired == [5, 7, 12, 14], done.output
    # every batch logs the last one anyway: nothing to add
    text = port(config(tmp_path, """\
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=1, ignore_last=False))
        """, name="one.py"), "--module", "my_project")
    assert line_of(text, "logger every") == ("logger every batch", "")
    # no interval: MMEngine logs each epoch's last batch only, which no attachment says: marked
    text = port(config(tmp_path, """\
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=0, ignore_last=False))
        """, name="none.py"), "--module", "my_project")
    assert "logger" not in block(text, "step {")
    assert line_of(text, "hook logger")[1] == ("LoggerHook interval 0 with ignore_last=False: MMEngine logs each "
                                               "epoch's last batch only; here log() logs at the epoch's end, after "
                                               "the validation")
