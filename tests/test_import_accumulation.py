"""``hookpipe import mmengine``'s iteration-based schedulers, under ``optim_wrapper.accumulative_counts`` or not,
and validation without ``val_cfg``.

MMEngine steps an iteration-based scheduler and averages its EMA every iteration;
hookpipe steps ``trainer.lr_scheduler`` and averages once per optimizer update. The
tests compare each update's learning rate with MMEngine's, restated below from
``mmengine.optim.scheduler.param_scheduler`` (MMEngine's k-th update, at iteration
``k*A - 1``, uses the value after ``k*A - 1`` scheduler steps; ``A = 1``: every
iteration is an update), through torch's schedulers and through a real
``hookpipe run`` of the imported line (docs/import.md).
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from hookpipe.porting.writer import MARK, marked_lines
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import tiny_trainer_text
from tests.test_import import block, imported
from tests.test_import_schedules_and_data import setting

BASE_LR = 0.01
#: The loop's max_iters in these configs: MMEngine's Runner gives a scheduler without ``end`` this ``end``.
MAX_ITERS = 200


def mmengine_lr(kind: str, args: dict[str, Any], begin: int, end: int | None, i: int) -> float:
    """MMEngine's learning rate after ``i`` steps of ``kind`` (from a base of ``BASE_LR``).

    Before ``begin`` it is the optimizer's; from ``begin`` the scheduler counts its
    own steps ``s = i - begin``, and it is not stepped past ``end``, so from
    ``end - 1`` on it keeps its last value. ``LinearLR``/``ConstantLR`` count
    ``total_iters = end - begin - 1``: the ramp reaches ``end_factor`` at
    ``s = end - begin - 1``, the constant factor is dropped there (with 0 steps,
    never: the factor it set first stays).
    """
    if i < begin:
        return BASE_LR
    s = (i if end is None else min(i, end - 1)) - begin
    gamma = args.get("gamma", 0.1)
    if kind in ("LinearLR", "ConstantLR"):
        assert end is not None
        steps = end - begin - 1
        if kind == "ConstantLR":
            return BASE_LR * (args["factor"] if s < steps or steps == 0 else 1.0)
        start, stop = args.get("start_factor", 1 / 3), args.get("end_factor", 1.0)
        return BASE_LR * (start + (stop - start) * min(s, steps) / steps if steps else start)
    if kind == "StepLR":
        return BASE_LR * gamma ** (s // args["step_size"])
    if kind == "MultiStepLR":
        return BASE_LR * gamma ** sum(m <= s for m in args["milestones"])
    if kind == "ExponentialLR":
        return BASE_LR * gamma ** s
    if kind == "CosineAnnealingLR":
        low = args.get("eta_min", 0.0)
        return low + (BASE_LR - low) * (1 + math.cos(math.pi * s / args.get("T_max", (end or MAX_ITERS) - begin))) / 2
    raise AssertionError(kind)


def mmengine_per_update(kind: str, args: dict[str, Any], begin: int, end: int | None, counts: int,
                        updates: int) -> list[float]:
    """The learning rate of MMEngine's updates 1..``updates``: update k runs at iteration ``k*counts - 1``."""
    return [mmengine_lr(kind, args, begin, end, k * counts - 1) for k in range(1, updates + 1)]


def torch_per_update(kind: str, kwargs: dict[str, Any], updates: int) -> list[float]:
    """The learning rate of hookpipe's updates 1..``updates``: the ``optimizer`` hook steps the scheduler after each."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=BASE_LR)
    scheduler = getattr(torch.optim.lr_scheduler, kind)(optimizer, **kwargs)
    rates = []
    for _ in range(updates):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def mm_config(tmp_path: Path, scheduler: str, counts: int | None, extra: str = "") -> Path:
    accumulate = "" if counts is None else f", accumulative_counts={counts}"
    config = tmp_path / "cfg.py"
    config.write_text(f"train_cfg = dict(type='IterBasedTrainLoop', max_iters={MAX_ITERS})\n"
                      f"optim_wrapper = dict(optimizer=dict(type='SGD', lr={BASE_LR}){accumulate})\n"
                      f"param_scheduler = [{scheduler}]\n{extra}", encoding="utf-8")
    return config


def scheduler_line(text: str) -> tuple[str, str, str]:
    """The ``lr_scheduler`` line: its value's text, the torch class, and its mark's note ("" when unmarked)."""
    code, _, note = setting(text, "lr_scheduler").partition(MARK)
    value = code.split("=", 1)[1].strip()
    kind = re.fullmatch(r'"torch\.optim\.lr_scheduler\.(\w+)"\(.*\)', value)
    assert kind, value
    return value, kind[1], note.strip()


def whole_mark(text: str, start: str) -> str:
    """The whole note of the marked line that starts with ``start`` (its continued lines joined on)."""
    lines = text.splitlines()
    return next(note for n, note in marked_lines(lines) if lines[n - 1].strip().startswith(start))


def call_kwargs(value: str) -> dict[str, Any]:
    """A written call's keyword arguments as Python values (the numbers and lists a scheduler takes)."""
    call = ast.parse("f" + value[value.index("("):], mode="eval").body
    assert isinstance(call, ast.Call)
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}


# --- without accumulation: torch's scheduler giving every iteration MMEngine's value --------------------------

PER_ITERATION = [
    # (MMEngine scheduler, its arguments, begin, end; None: the Runner's default, max_iters)
    ("LinearLR", {"start_factor": 0.1}, 0, 5),  # 0.1, 0.325, 0.55, 0.775, 1.0: total_iters = 4, not 5
    ("LinearLR", {"start_factor": 0.1}, 0, 1000),  # MMSegmentation's warmup
    ("LinearLR", {"start_factor": 0.25, "end_factor": 0.5}, 0, 40),
    ("LinearLR", {"start_factor": 0.1}, 0, None),  # ramps over the whole run: end = max_iters
    ("ConstantLR", {"factor": 0.5}, 0, 5),
    ("ConstantLR", {"factor": 0.5}, 0, 1),  # 0 steps: the factor stays
    ("MultiStepLR", {"milestones": [5, 20, 60], "gamma": 0.5}, 10, 50),  # at 15 and 30; 60 is past its end
    ("MultiStepLR", {"milestones": [0, 8]}, 3, None),
    ("StepLR", {"step_size": 7, "gamma": 0.5}, 0, None),
    ("ExponentialLR", {"gamma": 0.99}, 0, None),
    ("CosineAnnealingLR", {"T_max": 50, "eta_min": 0.001}, 0, None),
    ("CosineAnnealingLR", {"eta_min": 0.0}, 0, None),  # T_max = end - begin = max_iters
]


def _spec(kind: str, args: dict[str, Any], end: int | None, begin: int = 0) -> str:
    parts = [f"type='{kind}'", *(f"{k}={v!r}" for k, v in args.items()), "by_epoch=False"]
    if end is not None:
        parts += [f"begin={begin}", f"end={end}"]
    elif begin:
        parts.append(f"begin={begin}")
    return f"dict({', '.join(parts)})"


@pytest.mark.parametrize(("kind", "args", "begin", "end"), PER_ITERATION)
def test_iteration_scheduler_gives_every_iteration_mmengine_s_value(tmp_path: Path, kind: str, args: dict[str, Any],
                                                                   begin: int, end: int | None) -> None:
    _, text = imported("mmengine", mm_config(tmp_path, _spec(kind, args, end, begin), None), tmp_path,
                       "--module", "my_project", "--no-execute")
    value, written, note = scheduler_line(text)
    assert written == kind and note == ""  # exact: nothing for a person to do
    mm_end = MAX_ITERS if end is None and kind in ("LinearLR", "ConstantLR") else end
    assert torch_per_update(kind, call_kwargs(value), MAX_ITERS) == \
        pytest.approx(mmengine_per_update(kind, args, begin, mm_end, 1, MAX_ITERS), rel=1e-9, abs=1e-15)


def test_mmengine_s_linear_warmup_ends_a_step_before_torch_s_of_the_same_length(tmp_path: Path) -> None:
    """MMEngine's ``LinearLR(end=5)`` sets ``total_iters = end - begin - 1``: torch's ``total_iters = 5`` is a step
    late, so the import writes 4 (MMEngine's values, from its scheduler: 0.1, 0.325, 0.55, 0.775, 1.0)."""
    _, text = imported("mmengine", mm_config(tmp_path, _spec("LinearLR", {"start_factor": 0.1}, 5), None),
                       tmp_path, "--module", "my_project", "--no-execute")
    value, _, _ = scheduler_line(text)
    assert value == '"torch.optim.lr_scheduler.LinearLR"(start_factor = 0.1, total_iters = 4)'
    assert torch_per_update("LinearLR", call_kwargs(value), 6) == \
        pytest.approx([BASE_LR * f for f in (0.1, 0.325, 0.55, 0.775, 1.0, 1.0)], rel=1e-12)
    assert torch_per_update("LinearLR", {"start_factor": 0.1, "total_iters": 5}, 6)[4] < BASE_LR  # a step late


@pytest.mark.parametrize(("counts", "also"), [(None, ""), (4, " (an update is 4 iterations)")])
@pytest.mark.parametrize(("kind", "args", "begin", "end", "line", "note"), [
    ("LinearLR", {"start_factor": 0.1}, 100, 140,
     '"torch.optim.lr_scheduler.LinearLR"(start_factor = 0.1, total_iters = 39)',
     "MMEngine's LinearLR begins at iteration 100 (the optimizer's lr before) and ramps to end_factor by "
     "iteration 139; torch's starts at once: write a factory holding the lr 100 iterations first"),
    ("ConstantLR", {"factor": 0.5}, 10, 20,
     '"torch.optim.lr_scheduler.ConstantLR"(factor = 0.5, total_iters = 9)',
     "MMEngine's ConstantLR begins at iteration 10 (the optimizer's lr before) and applies factor until "
     "iteration 19; torch's starts at once: write a factory holding the lr 10 iterations first"),
])
def test_ramp_that_begins_later_is_marked(tmp_path: Path, kind: str, args: dict[str, Any], begin: int, end: int,
                                          line: str, note: str, counts: int | None, also: str) -> None:
    """One torch scheduler cannot hold the lr and then ramp: the ramp is written from the first update, marked."""
    result, text = imported("mmengine", mm_config(tmp_path, _spec(kind, args, end, begin), counts), tmp_path,
                            "--module", "my_project", "--no-execute")
    value, _, written_note = scheduler_line(text)
    assert value == line and written_note == note + also
    assert result.code == 1
    # what differs: the written ramp is MMEngine's, `begin` iterations early (MMEngine holds the optimizer's lr)
    written = torch_per_update(kind, call_kwargs(value), 60)
    mmengine = mmengine_per_update(kind, args, begin, end, 1, begin + 60)
    assert written == pytest.approx(mmengine[begin:], rel=1e-9)
    assert mmengine[:begin] == [BASE_LR] * begin and written[0] < BASE_LR


def test_epoch_scheduler_in_an_iteration_loop_is_marked(tmp_path: Path) -> None:
    """``by_epoch`` (MMEngine's default) in an IterBasedTrainLoop: stepped once, after the run, not per iteration."""
    result, text = imported("mmengine", mm_config(tmp_path, "dict(type='LinearLR', start_factor=0.1, begin=0, "
                                                            "end=1000)", None), tmp_path,
                            "--module", "my_project", "--no-execute")
    code, mark, note = setting(text, "lr_scheduler").partition(MARK)
    assert code.strip().startswith("lr_scheduler = project.lr_scheduler(schedule = [{ type = \"LinearLR\"")
    assert mark and note.strip() == (
        "by_epoch is true (MMEngine's default) for LinearLR in an IterBasedTrainLoop: MMEngine steps it once, after "
        "the run, so the lr keeps its first value all run; set by_epoch=False in the config if it should step "
        "every iteration")
    assert result.code == 1


# --- under accumulation: counted in updates where exact ---------------------------------------------------------

EXACT = [
    # (MMEngine scheduler, its arguments, begin, end, accumulative_counts)
    ("LinearLR", {"start_factor": 0.1}, 0, 40, 4),  # the trial's warmup: 4 divides end
    ("LinearLR", {"start_factor": 0.25, "end_factor": 0.5}, 0, 1000, 2),
    ("LinearLR", {"start_factor": 0.1}, 0, 7, 4),  # two updates before the end: two points are a line
    ("LinearLR", {"start_factor": 0.1}, 0, 1, 4),  # 0 steps: start_factor all run
    ("ConstantLR", {"factor": 0.5}, 0, 10, 4),
    ("ConstantLR", {"factor": 0.5}, 0, 9, 3),
    ("StepLR", {"step_size": 6, "gamma": 0.5}, 0, None, 3),
    ("MultiStepLR", {"milestones": [2, 5, 8, 9], "gamma": 0.5}, 0, None, 4),  # 8 and 9 in one update: gamma twice
    ("MultiStepLR", {"milestones": [2, 5, 8, 30], "gamma": 0.5}, 6, 30, 4),  # from iteration 6; 30 is past its end
]


@pytest.mark.parametrize(("kind", "args", "begin", "end", "counts"), EXACT)
def test_iteration_scheduler_is_counted_in_updates_where_exact(tmp_path: Path, kind: str, args: dict[str, Any],
                                                                begin: int, end: int | None, counts: int) -> None:
    _, text = imported("mmengine", mm_config(tmp_path, _spec(kind, args, end, begin), counts), tmp_path,
                       "--module", "my_project", "--no-execute")
    value, written, note = scheduler_line(text)
    # exact where the update windows are MMEngine's: the condition is marked, with grad_accumulation's
    assert written == kind and note == (f"counted in updates of {counts} iterations: MMEngine's learning rate at "
                                        f"every update when the train loader's length is a multiple of {counts} "
                                        "(see grad_accumulation)")
    assert whole_mark(text, "grad_accumulation") == (
        f"MMEngine's accumulation windows of {counts} iterations run on across passes over the train loader; "
        f"accelerate's also end at each pass's last batch, so with a loader length that is not a multiple of {counts} "
        "each pass ends on a shorter window here and the next pass's windows start over: check the loader's length")
    updates = 40
    assert torch_per_update(kind, call_kwargs(value), updates) == \
        pytest.approx(mmengine_per_update(kind, args, begin, end, counts, updates), rel=1e-9)


def test_the_trial_s_warmup_trains_as_mmengine_steps_it(tmp_path: Path) -> None:
    """The imported line in a real ``hookpipe run`` with ``grad_accumulation = 4``: each update's learning rate."""
    args, end, counts = {"start_factor": 0.1}, 40, 4
    _, text = imported("mmengine", mm_config(tmp_path, _spec("LinearLR", args, end), counts), tmp_path,
                       "--module", "my_project", "--no-execute")
    value, _, _ = scheduler_line(text)
    rates = tmp_path / "rates"
    pipe = tmp_path / "run.pipe"
    # 16 batches an epoch (a multiple of 4, so hookpipe's windows are MMEngine's), 80 steps: 20 updates
    pipe.write_text('use h = "tests.runtime.hooklib"\nuse r = "tests.runtime.runlib"\n'
                    + tiny_trainer_text(n=32, lr=BASE_LR, max_step=80, grad_accumulation=counts, seed=0,
                                        lr_scheduler=value)
                    + f'hook optimize = optimizer()\nhook lrs      = r.LearningRates(path = "{rates}")\n'
                    "loop { epoch { step { after {\n    lrs every update -> optimize\n} } } }\n", encoding="utf-8")
    assert run_file(str(pipe), [], None) == 0
    seen = [float(x) for x in Path(f"{rates}.0").read_text().split()]
    assert seen == pytest.approx(mmengine_per_update("LinearLR", args, 0, end, counts, 20), rel=1e-9)
    assert seen[9] == pytest.approx(BASE_LR) and seen[8] < BASE_LR  # the warmup ends at update 10, iteration 39


NOT_EXACT = [
    # (MMEngine scheduler, the line written without accumulation (exact there), what the mark advises)
    ("dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)",
     '"torch.optim.lr_scheduler.LinearLR"(start_factor = 0.1, total_iters = 9)',
     "set start_factor to about 0.4 and total_iters to about 2 (exact when 4 divides end)"),
    ("dict(type='ConstantLR', factor=0.5, by_epoch=False, begin=0, end=3)",
     '"torch.optim.lr_scheduler.ConstantLR"(factor = 0.5, total_iters = 2)',
     "it ends within the first update (3 iterations): remove it"),
    ("dict(type='LinearLR', start_factor=0.1, end_factor=0.5, by_epoch=False, begin=0, end=4)",
     '"torch.optim.lr_scheduler.LinearLR"(start_factor = 0.1, end_factor = 0.5, total_iters = 3)',
     "it ends within the first update (4 iterations): remove it and multiply the optimizer's lr by 0.5"),
    ("dict(type='StepLR', step_size=10, gamma=0.5, by_epoch=False)",
     '"torch.optim.lr_scheduler.StepLR"(step_size = 10, gamma = 0.5)', "set step_size to about 2"),
    ("dict(type='ExponentialLR', gamma=0.99, by_epoch=False)", '"torch.optim.lr_scheduler.ExponentialLR"(gamma = 0.99)',
     "set gamma to about gamma^4 = 0.96059601 (update k gets gamma^(4k - 1))"),
    ("dict(type='CosineAnnealingLR', T_max=1000, eta_min=0.0, by_epoch=False)",
     '"torch.optim.lr_scheduler.CosineAnnealingLR"(T_max = 1000, eta_min = 0.0)', "set T_max to about 250"),
]


@pytest.mark.parametrize(("scheduler", "line", "advice"), NOT_EXACT)
def test_iteration_scheduler_with_no_exact_update_form_is_marked(tmp_path: Path, scheduler: str, line: str,
                                                                 advice: str) -> None:
    result, text = imported("mmengine", mm_config(tmp_path, scheduler, 4), tmp_path, "--module", "my_project",
                            "--no-execute")
    value, kind, note = scheduler_line(text)
    assert value == line  # the per-iteration form, as without accumulation
    assert note == (f"MMEngine steps {kind} every iteration, hookpipe once per update (4 iterations under "
                    f"accumulative_counts): {advice}")
    assert result.code == 1 and "needs a person: MMEngine steps" in result.err


@pytest.mark.parametrize("counts", [None, 1])
def test_without_accumulation_the_scheduler_is_written_as_before(tmp_path: Path, counts: int | None) -> None:
    """``accumulative_counts = 1`` (or none): an iteration is an update, the per-iteration form is exact."""
    for scheduler, line, _ in NOT_EXACT:
        _, text = imported("mmengine", mm_config(tmp_path, scheduler, counts), tmp_path, "--module", "my_project",
                           "--no-execute")
        (tmp_path / "out.pipe").unlink()
        assert scheduler_line(text)[0::2] == (line, "") and "grad_accumulation" not in text


# --- an epoch schedule left to a factory, and the EMA --------------------------------------------------------

MULTI_PHASE = ("dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5, convert_to_iter_based=True), "
               "dict(type='CosineAnnealingLR', T_max=95, eta_min=1e-05, by_epoch=True, begin=5, end=100)")


def test_epoch_schedule_factory_is_told_to_count_updates(tmp_path: Path) -> None:
    """The trial's MMPretrain-style schedule: its factory counts an epoch as run.updates_per_epoch updates
    (ceil(steps_per_epoch / 4) here), given to it, not computed from the config's 4."""
    config = mm_config(tmp_path, MULTI_PHASE, 4)
    config.write_text(config.read_text().replace("IterBasedTrainLoop', max_iters=200", "EpochBasedTrainLoop', "
                                                                                       "max_epochs=100"))
    _, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    code, _, note = setting(text, "lr_scheduler").partition(MARK)
    assert code.strip().startswith("lr_scheduler = project.lr_scheduler(schedule = [{ type = \"LinearLR\"")
    assert code.strip().endswith("steps_per_epoch = run.steps_per_epoch, updates_per_epoch = run.updates_per_epoch)")
    assert note.strip() == ("param_scheduler is stepped once per update here: write a factory taking the optimizer, "
                            "this schedule, steps_per_epoch and updates_per_epoch, counting an update as 4 iterations "
                            "(accumulative_counts), an epoch as updates_per_epoch updates")
    (tmp_path / "out.pipe").unlink()
    config.write_text(config.read_text().replace(", accumulative_counts=4", ""))
    _, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    code, _, note = setting(text, "lr_scheduler").partition(MARK)
    assert code.strip().endswith("steps_per_epoch = run.steps_per_epoch)")  # without accumulation: the same count
    assert note.strip() == (
        "MMEngine's param_scheduler (LinearLR 0-5 epochs, CosineAnnealingLR 5-100 epochs) is stepped per update "
        "here: write a factory taking the optimizer, this schedule and steps_per_epoch")


@pytest.mark.parametrize(("hook", "written", "advice"), [
    ("dict(type='EMAHook', momentum=0.0001)", "ema(decay = 0.9999, warmup = false)",
     "set decay to about decay^4 = 0.99960006"),
    ("dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, gamma=2000)",
     'ema(decay = 0.9999, momentum = "exp", gamma = 2000)',
     "set decay to about decay^4 = 0.99960006, gamma to about 500 (the ramp counts iterations)"),
])
def test_ema_under_accumulation_is_marked(tmp_path: Path, hook: str, written: str, advice: str) -> None:
    """MMEngine's EMAHook averages every iteration (4 per update), the ``ema`` hook once per update."""
    extra = f"custom_hooks = [{hook}]\n"
    _, text = imported("mmengine", mm_config(tmp_path, _spec("MultiStepLR", {"milestones": [8]}, None), 4, extra),
                       tmp_path, "--module", "my_project", "--no-execute")
    line = next(line for line in text.splitlines() if line.startswith("hook ema "))
    code, _, note = line.partition(MARK)
    assert code.split("=", 1)[1].strip() == written
    assert note.strip() == ("MMEngine's EMAHook averages every iteration, ema once per update (4 iterations under "
                            f"accumulative_counts): {advice}")
    # the per-update decay it advises: 4 averagings toward weights that do not change between updates
    shadow, weight = torch.zeros(1), torch.ones(1)
    for _ in range(4):
        shadow.lerp_(weight, 0.0001)
    assert float(1 - shadow) == pytest.approx(0.9999 ** 4, rel=1e-6)
    (tmp_path / "out.pipe").unlink()
    _, text = imported("mmengine", mm_config(tmp_path, _spec("MultiStepLR", {"milestones": [8]}, None), None, extra),
                       tmp_path, "--module", "my_project", "--no-execute")
    assert MARK not in text  # without accumulation an iteration is an update


# --- validation without val_cfg or val_evaluator --------------------------------------------------------------

@pytest.mark.parametrize(("given", "missing"), [
    ("val_evaluator = dict(type='Accuracy')\n", "val_cfg is missing"),
    ("val_cfg = dict()\n", "val_evaluator is missing"),
    ("", "val_cfg and val_evaluator are missing"),
])
def test_validation_config_mmengine_refuses_is_written_and_marked(tmp_path: Path, given: str, missing: str) -> None:
    """MMEngine raises ValueError unless val_dataloader, val_cfg and val_evaluator come together: not dropped."""
    config = tmp_path / "cfg.py"
    config.write_text("train_cfg = dict(max_epochs=4, val_interval=2)\n"
                      "val_dataloader = dict(batch_size=8, dataset=dict(type='CircleDataset'))\n" + given,
                      encoding="utf-8")
    result, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    line = next(line for line in text.splitlines() if line.startswith("hook evaluate"))
    code, _, note = line.partition(MARK)
    assert code.split("=", 1)[1].strip() == ("validation(callback = project.val_step, dataloader = "
                                             "project.val_loader(batch_size = 8))")
    assert note.strip() == (f"{missing}: MMEngine refuses val_dataloader without val_cfg and val_evaluator "
                            "(ValueError); this validates as val_cfg = dict() would: delete evaluate if the run "
                            "should not validate")
    assert "evaluate every 2 epochs" in block(text, "epoch {")
    assert result.code == 1


def test_complete_validation_config_is_not_marked(tmp_path: Path) -> None:
    config = tmp_path / "cfg.py"
    config.write_text("train_cfg = dict(max_epochs=4)\nval_cfg = dict()\nval_evaluator = dict(type='Accuracy')\n"
                      "val_dataloader = dict(batch_size=8)\n", encoding="utf-8")
    result, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    assert "hook evaluate" in text and MARK not in text and result.code == 0
