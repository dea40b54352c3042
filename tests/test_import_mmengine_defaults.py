"""``hookpipe import mmengine``: MMEngine's default hooks, and what runs around its validation, as MMEngine runs them.

A new user's trial found each of these written otherwise (the test says what the
import wrote before). MMEngine's behaviour is restated from its source:
``Runner.register_default_hooks`` (six defaults; a ``default_hooks`` entry replaces
one whole, ``None`` removes it), ``EpochBasedTrainLoop.run_epoch``/``IterBasedTrainLoop``
(every ``after_train_epoch``/``after_train_iter`` hook, then the validation:
``before_val_epoch`` hooks, the evaluation, ``after_val_epoch`` hooks),
``LoggerHook.after_train_iter``, ``EarlyStoppingHook`` (``strict=False``,
``check_finite=True``), ``EMAHook`` and ``OptimWrapper``'s accumulation count.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.porting.mmengine_keys import ordinal
from tests.helpers import run_cli
from tests.test_import import block, imported
from tests.test_import_mmengine_marks import config, line_of, port

#: A config of MMEngine's shape that does not validate.
NO_VAL = """\
model = dict(type='ToyModel')
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
"""


def hooks_of(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.startswith("hook ")]


def phase_lines(text: str, opener: str, skip: str | None = None) -> list[str]:
    """The attachment lines (spaces squeezed) of the block opened by ``opener`` inside the ``epoch`` block, less
    the ``skip`` block in it (the step's, for the epoch's own ``after``)."""
    epoch = block(text, "epoch {")
    if skip:
        epoch = epoch.replace(block(epoch, skip), "")
    body = block(epoch, opener) if f"{opener}\n" in epoch + "\n" else ""
    if not body:  # the formatter writes a one-line block inline: `after { save every epoch }`
        line = next((line for line in epoch.splitlines() if line.startswith(opener)), "")
        return [" ".join(line[len(opener):].rstrip("}").split())] if line else []
    return [" ".join(line.split()) for line in body.splitlines()[1:-1]]


def epoch_end(text: str) -> list[str]:
    return phase_lines(text, "after {", skip="step {")


def firings(text: str, hook: str, scope: str, length: int) -> list[int]:
    """The occurrences (1-based epochs or steps) ``hook``'s attachments in ``scope.after`` fire at, in a run of
    ``length`` (the language's own guards, as ``--set trainer.max_epoch=length`` would run them)."""
    plan = compile_text(text, "out.pipe")
    guards = [e.guard for e in plan.phase(scope, "after").flat() if e.hook == hook]
    return [c for c in range(1, length + 1) for g in guards if g.fires(c, is_last=c == length)]


# --- 1. MMEngine's default hooks ------------------------------------------------------------------------------

def test_a_config_without_default_hooks_gets_mmengine_s_defaults(tmp_path: Path) -> None:
    """Before: no checkpoint and no logger at all (only the config's ``default_hooks`` were read)."""
    result, text = imported("mmengine", config(tmp_path, "train_cfg = dict(max_epochs=5)\n", base=NO_VAL), tmp_path,
                            "--module", "my_project")
    assert hooks_of(text) == ["optimize", "timer", "logger", "save"]
    assert phase_lines(text, "after {") == ["optimize", "timer", "logger every 10 batches"]  # LoggerHook(interval=10)
    assert epoch_end(text) == ["save every epoch"]  # CheckpointHook(interval=1)
    assert "    after { save }" in text  # its save_last
    assert 'log_with = ["csv"]' in text
    assert result.code == 0  # all of it is MMEngine's, nothing needs a person


@pytest.mark.parametrize(("default_hooks", "hooks", "ends"), [
    # another entry leaves MMEngine's checkpoint and logger in place
    ("dict(logger=dict(type='LoggerHook', interval=5))", ["optimize", "timer", "logger", "save"], ["save every epoch"]),
    ("dict(checkpoint=None)", ["optimize", "timer", "logger"], []),
    # an entry replaces the default whole: CheckpointHook's own interval -1, no periodic save (save_last stays)
    ("dict(checkpoint=dict(type='CheckpointHook', max_keep_ckpts=2))", ["optimize", "timer", "logger", "save"], []),
    ("dict(timer=None, logger=None, checkpoint=None)", ["optimize"], []),
])
def test_default_hooks_change_mmengine_s_defaults_as_its_runner_does(tmp_path: Path, default_hooks: str,
                                                                     hooks: list[str], ends: list[str]) -> None:
    text = port(config(tmp_path, f"train_cfg = dict(max_epochs=5)\ndefault_hooks = {default_hooks}\n", base=NO_VAL),
                "--module", "my_project")
    assert hooks_of(text) == hooks
    assert epoch_end(text) == ends
    assert ("log_with" in text) == ("logger" in hooks)


def test_default_hooks_mmengine_refuses_are_marked(tmp_path: Path) -> None:
    text = port(config(tmp_path, """\
        train_cfg = dict(max_epochs=5)
        default_hooks = dict(visualization=None, checkpoint=dict(interval=2))
        """, base=NO_VAL), "--module", "my_project")
    assert line_of(text, "max_epoch")[1] == (
        "default_hooks.visualization is None, which MMEngine accepts only for one of its default hooks "
        "(runtime_info, timer, sampler_seed, logger, param_scheduler, checkpoint): it refuses this config "
        "(AssertionError); remove the entry")
    assert line_of(text, "hook save")[1] == (
        "default_hooks.checkpoint has no type: MMEngine refuses it (the entry replaces its default hook whole, and a "
        "hook is built from its type); ported as CheckpointHook: add type='CheckpointHook'")


# --- 2. the logger's records --------------------------------------------------------------------------------------

def mmengine_logs(batches: int, epochs: int, interval: int) -> list[int]:
    """The global iterations (1-based) ``LoggerHook.after_train_iter`` writes a training record at, with
    ``ignore_last=True``: ``(batch_idx + 1) % interval == 0``, or the epoch's last batch when the epoch has at most
    ``interval`` batches."""
    return [e * batches + i + 1 for e in range(epochs) for i in range(batches)
            if (i + 1) % interval == 0 or (i + 1 == batches and batches <= interval)]


def test_the_logger_records_where_mmengine_logs(tmp_path: Path) -> None:
    """Before: ``logger`` also in ``epoch.after``, unconditionally: the trial's run (10 batches an epoch,
    interval 4, no validation) logged at steps 4, 8, 10, 14, 18, 20; MMEngine at 4, 8, 14, 18."""
    source = config(tmp_path, """\
        train_cfg = dict(max_epochs=2)
        default_hooks = dict(logger=dict(type='LoggerHook', interval=4))
        """, base=NO_VAL)
    text = port(source, "--module", "my_project")
    done = run_cli("explain", str(source.parent / "out.pipe"), "--steps", "20", "--steps-per-epoch", "10")
    rows = [row.split() for row in done.out.splitlines() if "logger" in row]
    assert done.code == 0 and all(row[2] == "step.after" for row in rows), done.out
    assert [int(row[0]) for row in rows] == mmengine_logs(10, 2, 4) == [4, 8, 14, 18]
    assert "validation evaluate" not in text


@pytest.mark.parametrize("loop", ["max_epochs=4, val_interval=2",
                                  "type='IterBasedTrainLoop', max_iters=1000, val_interval=300"])
def test_the_validation_s_record_is_written_when_the_validation_ends(tmp_path: Path, loop: str) -> None:
    """MMEngine's ``after_val_epoch`` record: the validation's own ``after``, at its step. Before: ``logger`` in
    ``epoch.after`` (every epoch), and in an iteration loop at the logger's next firing (validation at 600,
    record at 630)."""
    text = port(config(tmp_path, f"train_cfg = dict({loop})\n"
                                 "default_hooks = dict(logger=dict(type='LoggerHook', interval=70))\n"),
                "--module", "my_project")
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter { logger }\n}"
    assert "logger" not in " ".join(epoch_end(text))


# --- 3. what runs around the validation ---------------------------------------------------------------------------

def test_evaluate_goes_right_before_the_checkpoint(tmp_path: Path) -> None:
    """MMEngine runs every after_train_epoch hook, then validates; the import keeps ``evaluate`` before the
    checkpoint only. Before: ``evaluate`` first, ahead of every hook; SyncBuffersHook was ``unnamed.Hook``."""
    text = port(config(tmp_path, """\
        train_cfg = dict(max_epochs=4)
        default_hooks = dict(sync_buffers=dict(type='SyncBuffersHook'))
        custom_hooks = [dict(type='my.Early', priority=60), dict(type='my.Late', priority=95)]
        """), "--module", "my_project")
    assert epoch_end(text) == ["sync_buffers", "early", "evaluate every epoch", "save every epoch", "late"]
    assert line_of(text, "hook sync_buffers")[0] == 'hook sync_buffers = "mmengine.hooks.SyncBuffersHook"() { ' \
                                                   'collective }'
    assert "after_train_epoch before validating" not in line_of(text, "hook early")[1]
    assert line_of(text, "hook late")[1].endswith(
        "MMEngine runs its after_train_epoch before validating (after the checkpoint, by priority); here evaluate "
        "precedes the checkpoint, so this runs after the validation: move it above evaluate if it must run first")


def test_an_iteration_loop_validates_after_its_iteration_s_hooks(tmp_path: Path) -> None:
    """Before: ``evaluate`` right after ``optimize``, ahead of every ``after_train_iter`` hook."""
    text = port(config(tmp_path, """\
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=300)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250),
                             logger=dict(type='LoggerHook', interval=70))
        custom_hooks = [dict(type='PreciseBNHook', priority='ABOVE_NORMAL')]
        """), "--module", "my_project")
    # the logger reads the metrics evaluate writes (effect rule): after it, its records unchanged
    assert phase_lines(text, "after {") == ["optimize", "precise_bn", "timer", "evaluate every 300 steps and at end",
                                            "logger every 70 steps and at end", "save every 250 steps"]


@pytest.mark.parametrize("ema", ["", "dict(type='EMAHook', priority=40)"])  # EMA first: it swaps before syncing
def test_a_before_val_epoch_hook_runs_in_the_validation_s_own_before(tmp_path: Path, ema: str) -> None:
    """Before: ``sync_norm`` in ``epoch.after`` at every epoch, though MMEngine runs it only when it validates."""
    text = port(config(tmp_path, f"""\
        train_cfg = dict(max_epochs=20, val_interval=10)
        custom_hooks = [dict(type='SyncNormHook'), {ema}]
        """), "--module", "my_project")
    assert "sync_norm" not in " ".join(epoch_end(text))
    assert block(text, "validation evaluate {").splitlines()[1] == "before { sync_norm }"
    assert "its before_val_epoch is the class's on_validation_begin(args)" in line_of(text, "hook sync_norm")[1]


@pytest.mark.parametrize(("loop", "scope", "lengths"), [
    ("max_epochs=300, val_interval=10, dynamic_intervals=[(285, 1)]", "epoch", (300, 290, 250, 7)),  # YOLOX
    ("type='IterBasedTrainLoop', max_iters=1000, val_interval=300, val_begin=400", "step", (1000, 700)),
])
def test_a_before_val_epoch_hook_ahead_of_the_ema_swap_fires_with_the_validation(tmp_path: Path, loop: str,
                                                                                  scope: str,
                                                                                  lengths: tuple[int, ...]) -> None:
    """YOLOX's SyncNormHook (priority 48) syncs before EMAHook (49) swaps the average in; the validation's own
    ``before`` runs inside the ``with swap`` bracket, so it goes before it, with evaluate's frequencies."""
    text = port(config(tmp_path, f"""\
        train_cfg = dict({loop})
        custom_hooks = [dict(type='SyncNormHook', priority=48), dict(type='EMAHook', priority=49)]
        """), "--module", "my_project")
    assert "validation evaluate {\nbefore" not in block(text, "validation evaluate {")
    assert "before the swap" in line_of(text, "hook sync_norm")[1]
    for length in lengths:
        assert firings(text, "sync_norm", scope, length) == firings(text, "evaluate", scope, length) != []


def test_validation_hooks_are_not_written_where_nothing_validates(tmp_path: Path) -> None:
    """MMEngine calls before_val_epoch, after_val_iter and after_val_epoch hooks only when it validates. Before:
    ``sync_norm`` and ``stop`` in ``epoch.after`` (``stop`` monitoring an ``evaluate`` that does not exist)."""
    text = port(config(tmp_path, """\
        train_cfg = dict(max_epochs=4)
        custom_hooks = [dict(type='SyncNormHook'), dict(type='EarlyStoppingHook', monitor='loss'),
                        dict(type='DetVisualizationHook', draw=True)]
        """, base=NO_VAL), "--module", "my_project")
    assert hooks_of(text) == ["optimize", "timer", "logger", "save"]
    assert line_of(text, "max_epoch")[1] == (
        "SyncNormHook: MMEngine runs it in before_val_epoch only, and nothing validates here, so it never runs: not "
        "written; EarlyStoppingHook (monitor 'loss'): MMEngine judges it after each validation, and nothing "
        "validates here, so it never stops the run: not written; DetVisualizationHook: MMEngine runs it in "
        "after_val_iter only, and nothing validates here, so it never runs: not written")


def test_precise_bn_runs_after_each_training_epoch(tmp_path: Path) -> None:
    """MMPretrain's PreciseBNHook recomputes the statistics in after_train_epoch (after_train_iter in an
    iteration loop), at every ``interval``: before, it was placed as a before_val_epoch hook."""
    text = port(config(tmp_path, """\
        train_cfg = dict(max_epochs=4, val_interval=2)
        custom_hooks = [dict(type='PreciseBNHook', num_samples=64, priority='ABOVE_NORMAL')]
        """), "--module", "my_project")
    assert epoch_end(text)[:2] == ["precise_bn", "evaluate every 2 epochs and at end"]
    assert "before" not in block(text, "validation evaluate {")


# --- 4. EarlyStoppingHook -----------------------------------------------------------------------------------------

STRICT = ("strict False (the default): MMEngine skips a result without 'loss' with a warning, early_stop fails the "
          "run: return the metric from every validation")
FINITE = ("check_finite True (the default): MMEngine stops at once on a NaN or infinite result, early_stop counts a "
          "NaN as no improvement: raise in the validation callback to stop on one")
NOT_FINITE = ("check_finite False: MMEngine takes a NaN result as the new best (and never stops after it), early_stop "
              "counts it as no improvement")


@pytest.mark.parametrize(("arguments", "said", "unsaid"), [
    ("", [STRICT, FINITE], [NOT_FINITE]),  # MMEngine's defaults differ from early_stop's behaviour
    (", strict=True", [FINITE], [STRICT, "strict True"]),  # a missing metric fails both: the same
    (", strict=True, check_finite=False", [NOT_FINITE], [STRICT, FINITE]),
])
def test_early_stopping_marks_exactly_what_early_stop_does_differently(tmp_path: Path, arguments: str,
                                                                       said: list[str], unsaid: list[str]) -> None:
    """Before: the default ``strict=False`` was unmarked and ``strict=True`` marked, the wrong way round."""
    text = port(config(tmp_path, f"""\
        train_cfg = dict(max_epochs=4)
        custom_hooks = [dict(type='EarlyStoppingHook', monitor='loss'{arguments})]
        """), "--module", "my_project")
    code, note = line_of(text, "hook stop")
    assert code == 'hook stop = early_stop(monitor = "evaluate.loss", mode = "min", patience = 5, min_delta = 0.1)'
    assert all(part in note for part in said) and not any(part in note for part in unsaid), note
    # MMEngine judges in after_val_epoch (priority LOWEST: after the logger's record)
    assert block(text, "validation evaluate {") == "validation evaluate {\nafter {\nlogger\nstop\n}\n}"


# --- 5. EMAHook's place and rate ----------------------------------------------------------------------------------

@pytest.mark.parametrize("hooks", [
    "default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100, priority=1))\n"
    "custom_hooks = [dict(type='EMAHook')]",
    "default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100))\n"
    "custom_hooks = [dict(type='EMAHook', priority='VERY_LOW')]",
])
def test_ema_updates_where_its_priority_puts_it(tmp_path: Path, hooks: str) -> None:
    """Before: ``ema`` right after ``optimize`` whatever its priority; MMEngine saves these checkpoints first."""
    text = port(config(tmp_path, f"train_cfg = dict(max_epochs=4)\n{hooks}\n", base=NO_VAL), "--module", "my_project")
    step = phase_lines(text, "after {")
    assert step.index("save every 100 steps") < step.index("ema")
    assert line_of(text, "hook ema")[1] == ""  # the order is MMEngine's: nothing to say


def test_ema_the_validation_needs_first_is_moved_and_marked(tmp_path: Path) -> None:
    """In an iteration loop the swap reads the average, so its update cannot follow the validation (effect rule)."""
    text = port(config(tmp_path, """\
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=100)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=200))
        custom_hooks = [dict(type='EMAHook', priority='VERY_LOW')]
        """), "--module", "my_project")
    assert phase_lines(text, "after {") == ["optimize", "timer", "ema", "with swap { evaluate every 100 steps and at "
                                            "end }", "logger every 10 steps and at end", "save every 200 steps"]
    assert line_of(text, "hook ema")[1] == (
        "EMAHook priority 90 runs after the checkpoint (priority 90) in MMEngine's after_train_iter, so MMEngine's "
        "checkpoint holds the average before this iteration's update; here ema must run before evaluate's swap, "
        "which precedes that checkpoint: it holds the updated average (resuming from it goes on from there)")


@pytest.mark.parametrize(("interval", "counts", "advice"), [
    # one averaging per update, as ema does: the trial's note said both decay^(1/2) and decay^2
    (2, 2, "MMEngine's EMAHook averages every 2nd iteration (interval 2), ema once per update (2 iterations under "
           "accumulative_counts): keep decay (decay^(2/2) = decay)"),
    (3, 2, "MMEngine's EMAHook averages every 3rd iteration (interval 3), ema once per update (2 iterations under "
           "accumulative_counts): set decay to about decay^(2/3) = 0.99997333"),
    (1, 4, "MMEngine's EMAHook averages every iteration, ema once per update (4 iterations under "
           "accumulative_counts): set decay to about decay^4 = 0.99984001"),
])
def test_ema_interval_and_accumulation_make_one_statement(tmp_path: Path, interval: int, counts: int,
                                                          advice: str) -> None:
    text = port(config(tmp_path, f"""\
        train_cfg = dict(max_epochs=4)
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), accumulative_counts={counts})
        custom_hooks = [dict(type='EMAHook', momentum=0.00004, interval={interval})]
        """), "--module", "my_project")
    assert line_of(text, "hook ema")[1] == advice


def test_ordinals_are_english() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]


# --- 6. accumulation windows, a checkpoint that saves nothing, a float length -------------------------------------

def test_accumulation_is_marked_with_when_its_updates_are_mmengine_s(tmp_path: Path) -> None:
    """Before: unmarked, though MMEngine's windows run on across epochs and accelerate's end at each epoch's end."""
    text = port(config(tmp_path, """\
        train_cfg = dict(max_epochs=4)
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), accumulative_counts=4)
        """, base=NO_VAL), "--module", "my_project")
    assert line_of(text, "grad_accumulation") == (
        "grad_accumulation = 4",
        "MMEngine's accumulation windows of 4 iterations run on across epochs; accelerate's also end at each epoch's "
        "last batch, so an epoch whose batch count is not a multiple of 4 ends on a shorter window here and the next "
        "epoch's windows start over: the updates are MMEngine's only when every epoch's batch count is a multiple of "
        "4; check the train loader's length")


def test_a_checkpoint_hook_that_saves_nothing_is_not_declared(tmp_path: Path) -> None:
    """Before: ``hook save`` declared and never attached: HP103 on a faithful port."""
    source = config(tmp_path, """\
        train_cfg = dict(max_epochs=10)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=-1, save_last=False))
        """, base=NO_VAL)
    text = port(source, "--module", "my_project")
    assert "hook save" not in text
    assert line_of(text, "max_epoch")[1] == (
        "CheckpointHook interval -1, save_last False: MMEngine saves no checkpoint in this run, and no checkpoint "
        "hook is written; add one if the run should save")
    done = run_cli("lint", "--warnings-as-errors", str(source.parent / "out.pipe"))
    assert done.code == 0, done.output


@pytest.mark.parametrize(("length", "written", "note"), [
    ("12.0", "max_epoch = 12", ""),  # MMEngine takes int(max_epochs) when it equals max_epochs
    ("12.5", "max_epoch = 1", "train_cfg.max_epochs 12.5 is not a whole number: MMEngine refuses it "
                              "(AssertionError); set the run's length"),
])
def test_a_float_run_length(tmp_path: Path, length: str, written: str, note: str) -> None:
    """Before: ``max_epochs=12.0`` was marked "missing or not a number" and written as 1."""
    text = port(config(tmp_path, f"train_cfg = dict(max_epochs={length}, val_interval=4)\n"), "--module",
                "my_project")
    assert line_of(text, "max_epoch") == (written, note)
    if not note:
        assert epoch_end(text)[0] == "evaluate every 4 epochs and at end"
