"""``hookpipe import mmengine`` under ``optim_wrapper.accumulative_counts``, and validation without ``val_cfg``.

MMEngine steps an iteration-based scheduler and averages its EMA every iteration;
hookpipe steps ``trainer.lr_scheduler`` and averages once per optimizer update. The
tests compare each update's learning rate with MMEngine's, restated below from
``mmengine.optim.scheduler.param_scheduler`` (MMEngine's k-th update, at iteration
``k*A - 1``, uses the value after ``k*A - 1`` scheduler steps), through torch's
schedulers and through a real ``hookpipe run`` of the imported line (docs/import.md).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from hookpipe.porting.writer import MARK
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import tiny_trainer_text
from tests.test_import import block, imported
from tests.test_import_schedules_and_data import setting

BASE_LR = 0.01


def mmengine_factor(kind: str, args: dict[str, Any], end: int | None, i: int) -> float:
    """MMEngine's factor of the base learning rate after ``i`` steps of ``kind`` (``begin = 0``).

    Its ``LinearLR``/``ConstantLR`` count ``total_iters = end - begin - 1``: the ramp
    reaches ``end_factor`` at step ``end - 1``, the constant factor is dropped there.
    """
    gamma = args.get("gamma", 0.1)
    if kind == "LinearLR":
        assert end is not None
        start, stop = args.get("start_factor", 1 / 3), args.get("end_factor", 1.0)
        return start + (stop - start) * min(i, end - 1) / (end - 1)
    if kind == "ConstantLR":
        assert end is not None
        return args["factor"] if i < end - 1 else 1.0
    if kind == "StepLR":
        return gamma ** (i // args["step_size"])
    if kind == "MultiStepLR":
        return gamma ** sum(m <= i for m in args["milestones"])
    raise AssertionError(kind)


def mmengine_per_update(kind: str, args: dict[str, Any], end: int | None, counts: int, updates: int) -> list[float]:
    """The learning rate of MMEngine's updates 1..``updates``: update k runs at iteration ``k*counts - 1``."""
    return [BASE_LR * mmengine_factor(kind, args, end, k * counts - 1) for k in range(1, updates + 1)]


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
    config.write_text("train_cfg = dict(type='IterBasedTrainLoop', max_iters=200)\n"
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


def call_kwargs(value: str) -> dict[str, Any]:
    """A written call's keyword arguments as Python values (the numbers and lists a scheduler takes)."""
    call = ast.parse("f" + value[value.index("("):], mode="eval").body
    assert isinstance(call, ast.Call)
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}


# --- an iteration-based torch scheduler: converted where exact ------------------------------------------------

EXACT = [
    # (MMEngine scheduler, its arguments, end, accumulative_counts)
    ("LinearLR", {"start_factor": 0.1}, 40, 4),  # the trial's warmup: 4 divides end
    ("LinearLR", {"start_factor": 0.25, "end_factor": 0.5}, 1000, 2),
    ("LinearLR", {"start_factor": 0.1}, 7, 4),  # two updates before the end: two points are a line
    ("ConstantLR", {"factor": 0.5}, 10, 4),
    ("ConstantLR", {"factor": 0.5}, 9, 3),
    ("StepLR", {"step_size": 6, "gamma": 0.5}, None, 3),
    ("MultiStepLR", {"milestones": [2, 5, 8, 9], "gamma": 0.5}, None, 4),  # 8 and 9 in one update: gamma twice
]


def _spec(kind: str, args: dict[str, Any], end: int | None) -> str:
    parts = [f"type='{kind}'", *(f"{k}={v!r}" for k, v in args.items()), "by_epoch=False"]
    if end is not None:
        parts += ["begin=0", f"end={end}"]
    return f"dict({', '.join(parts)})"


@pytest.mark.parametrize(("kind", "args", "end", "counts"), EXACT)
def test_iteration_scheduler_is_counted_in_updates_where_exact(tmp_path: Path, kind: str, args: dict[str, Any],
                                                                end: int | None, counts: int) -> None:
    _, text = imported("mmengine", mm_config(tmp_path, _spec(kind, args, end), counts), tmp_path,
                       "--module", "my_project", "--no-execute")
    value, written, note = scheduler_line(text)
    assert written == kind and note == ""  # exact: nothing for a person to do
    updates = 40
    assert torch_per_update(kind, call_kwargs(value), updates) == \
        pytest.approx(mmengine_per_update(kind, args, end, counts, updates), rel=1e-9)


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
    assert seen == pytest.approx(mmengine_per_update("LinearLR", args, end, counts, 20), rel=1e-9)
    assert seen[9] == pytest.approx(BASE_LR) and seen[8] < BASE_LR  # the warmup ends at update 10, iteration 39


NOT_EXACT = [
    # (MMEngine scheduler, the line written as without accumulation, what the mark advises)
    ("dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)",
     '"torch.optim.lr_scheduler.LinearLR"(start_factor = 0.1, total_iters = 10)',
     "set start_factor to about 0.4 and total_iters to about 2 (exact when 4 divides end)"),
    ("dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=100, end=140)",
     '"torch.optim.lr_scheduler.LinearLR"(start_factor = 0.1, total_iters = 40)',
     "it begins at iteration 100: count its iterations in updates (about 25 for 100)"),
    ("dict(type='ConstantLR', factor=0.5, by_epoch=False, begin=0, end=3)",
     '"torch.optim.lr_scheduler.ConstantLR"(factor = 0.5, total_iters = 3)',
     "it ends within the first update (3 iterations): remove it"),
    ("dict(type='LinearLR', start_factor=0.1, end_factor=0.5, by_epoch=False, begin=0, end=4)",
     '"torch.optim.lr_scheduler.LinearLR"(start_factor = 0.1, end_factor = 0.5, total_iters = 4)',
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
    assert value == line  # the file's numbers, as without accumulation
    assert note == (f"MMEngine steps {kind} every iteration, hookpipe once per update (4 iterations under "
                    f"accumulative_counts): {advice}")
    assert result.code == 1 and "needs a person: MMEngine steps" in result.err


@pytest.mark.parametrize("counts", [None, 1])
def test_without_accumulation_the_scheduler_is_written_as_before(tmp_path: Path, counts: int | None) -> None:
    """``accumulative_counts = 1`` (or none): an iteration is an update, nothing is converted or marked."""
    for scheduler, line, _ in NOT_EXACT:
        _, text = imported("mmengine", mm_config(tmp_path, scheduler, counts), tmp_path, "--module", "my_project",
                           "--no-execute")
        (tmp_path / "out.pipe").unlink()
        assert scheduler_line(text)[0::2] == (line, "") and "grad_accumulation" not in text


# --- an epoch schedule left to a factory, and the EMA --------------------------------------------------------

MULTI_PHASE = ("dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5, convert_to_iter_based=True), "
               "dict(type='CosineAnnealingLR', T_max=95, eta_min=1e-05, by_epoch=True, begin=5, end=100)")


def test_epoch_schedule_factory_is_told_to_count_updates(tmp_path: Path) -> None:
    """The trial's MMPretrain-style schedule: its factory must count an epoch as ceil(steps_per_epoch / 4) updates."""
    config = mm_config(tmp_path, MULTI_PHASE, 4)
    config.write_text(config.read_text().replace("IterBasedTrainLoop', max_iters=200", "EpochBasedTrainLoop', "
                                                                                       "max_epochs=100"))
    _, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    code, _, note = setting(text, "lr_scheduler").partition(MARK)
    assert code.strip().startswith("lr_scheduler = project.lr_scheduler(schedule = [{ type = \"LinearLR\"")
    assert code.strip().endswith("steps_per_epoch = run.steps_per_epoch)")
    assert note.strip() == ("param_scheduler is stepped once per update here: write a factory taking the optimizer, "
                            "this schedule and steps_per_epoch, counting an update as 4 iterations "
                            "(accumulative_counts), an epoch as ceil(steps_per_epoch / 4) updates")
    (tmp_path / "out.pipe").unlink()
    config.write_text(config.read_text().replace(", accumulative_counts=4", ""))
    _, text = imported("mmengine", config, tmp_path, "--module", "my_project", "--no-execute")
    assert setting(text, "lr_scheduler").partition(MARK)[2].strip() == (
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
