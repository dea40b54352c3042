"""Run-time values (``run.updates``...) resolved when the run starts; the LR schedule steps once per update."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer, PlanResolveError
from hookpipe.runtime.run import run_file
from tests.helpers import launch_two
from tests.runtime.planbuild import tiny_trainer_text

SIZED = """use h = "tests.runtime.hooklib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(
    n=20, lr=0.1, max_epoch=3, grad_accumulation=4,
    lr_scheduler='"torch.optim.lr_scheduler.OneCycleLR"(max_lr = 0.1, total_steps = run.updates)') + """\
hook optimize = optimizer()
hook sized    = r.Sized(updates = run.updates, steps = run.steps, per_epoch = run.steps_per_epoch,
                        processes = run.num_processes, listed = [run.updates])
loop {
    before { sized }
    epoch { step { after { optimize } } }
}
"""


def test_hook_arguments_and_factories_get_the_run_s_numbers() -> None:
    trainer = HookBasedTrainer.from_plan(compile_text(SIZED, "sized.pipe"))
    sized = trainer.hook_instances["sized"]
    # 10 batches per epoch, accumulation 4: updates after batches 4, 8 and 10 -> 3 per epoch.
    assert sized.given == {"updates": 9, "steps": 30, "per_epoch": 10, "processes": 1, "listed": [9]}
    assert trainer.lr_scheduler.scheduler.total_steps == 9
    trainer()  # OneCycleLR raises if stepped more than total_steps times
    assert sized.seen == {"updates": 9, "steps": 30, "steps_per_epoch": 10, "num_processes": 1}
    assert trainer.lr_scheduler.scheduler.last_epoch == 9


def test_the_plan_keeps_the_names_and_the_trainer_runs_the_numbers() -> None:
    plan = compile_text(SIZED, "sized.pipe")
    assert plan.hook("sized").args["updates"] == {"$run": "updates"}
    trainer = HookBasedTrainer.from_plan(plan)
    assert trainer.plan is not None and trainer.plan.hook("sized").args["updates"] == 9


def test_a_model_factory_may_take_the_process_count() -> None:
    text = SIZED.replace("h.tiny_model()", "r.sized_model(num_processes = run.num_processes)")
    text = text.replace("n = 20, batch_size = 2", "n = 8, batch_size = 2")
    trainer = HookBasedTrainer.from_plan(compile_text(text, "sized.pipe"))
    assert trainer.run.size.num_processes == 1


def test_a_value_the_run_cannot_know_is_a_clear_error() -> None:
    text = SIZED.replace("h.tiny_loader(n = 20, batch_size = 2)", "r.endless()")
    with pytest.raises(PlanResolveError, match=r"trainer.lr_scheduler: run.updates is not known: the dataloader has no len\(\)"):
        HookBasedTrainer.from_plan(compile_text(text, "sized.pipe"))


def test_the_seed_api_keeps_accelerate_s_scheduler_stepping() -> None:
    import torch
    from accelerate import Accelerator

    from tests.runtime.hooklib import MSE, tiny_loader, tiny_model

    model = tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = HookBasedTrainer(Accelerator(cpu=True), model, tiny_loader(), MSE(), opt,
                               torch.optim.lr_scheduler.StepLR(opt, 1), max_step=2)
    assert trainer.lr_scheduler.step_with_optimizer  # accelerate's default, as in the seed
    trainer()
    assert trainer.lr_scheduler.scheduler.last_epoch == 2


LR_PIPE = """use h = "tests.runtime.hooklib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(
    n=48, lr=0.1, max_step=12, grad_accumulation=2, seed=0,
    lr_scheduler='"torch.optim.lr_scheduler.OneCycleLR"(max_lr = 0.1, total_steps = run.updates, pct_start = 0.5)') + """\
hook optimize = optimizer()
hook lrs      = r.LearningRates(path = "PATH")
loop { epoch { step { after {
    lrs every update -> optimize
} } } }
"""



def rates(path: Path) -> list[float]:
    return [float(x) for x in path.read_text().split()]


@pytest.mark.slow
def test_the_learning_rate_at_each_update_is_the_same_on_one_and_two_processes(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    (tmp_path / "one.pipe").write_text(LR_PIPE.replace("PATH", str(one)), encoding="utf-8")
    (tmp_path / "two.pipe").write_text(LR_PIPE.replace("PATH", str(two)), encoding="utf-8")
    assert run_file(str(tmp_path / "one.pipe"), [], None) == 0
    env = {"HOOKPIPE_TEST_SIZES": str(tmp_path / "sizes")}
    done = launch_two("hookpipe.cli", "run", str(tmp_path / "two.pipe"), env=env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    single = rates(Path(f"{one}.0"))
    assert len(single) == 6  # 12 steps, accumulation 2
    # The LR each update used: up to the peak at the 3rd of 6 (pct_start 0.5), then down.
    assert single.index(max(single)) == 2 and max(single) == pytest.approx(0.1)
    assert single[:3] == sorted(single[:3]) and single[2:] == sorted(single[2:], reverse=True)
    assert rates(Path(f"{two}.0")) == single
    assert rates(Path(f"{two}.1")) == single
    # The seed's stepping (accelerate's default, once per process per update) runs the
    # same schedule twice as fast on 2 processes: what the per-update stepping fixes.
    seed = tmp_path / "seed"
    (tmp_path / "seed.pipe").write_text(LR_PIPE.replace("PATH", str(seed)), encoding="utf-8")
    done = launch_two("tests.runtime.seed_lr", str(tmp_path / "seed.pipe"), env=env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    doubled = rates(Path(f"{seed}.0"))
    assert doubled[:2] == [single[0], single[2]]  # update 2 already uses update 3's rate


@pytest.mark.slow
def test_run_values_on_two_processes_count_each_process_s_share(tmp_path: Path) -> None:
    path = tmp_path / "sized.pipe"
    path.write_text(SIZED, encoding="utf-8")
    done = launch_two("hookpipe.cli", "run", str(path), env={"HOOKPIPE_TEST_SIZES": str(tmp_path / "s")}, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in (0, 1):
        got = json.loads(Path(f"{tmp_path / 's'}.{rank}").read_text())
        # 20 samples on 2 processes: 5 batches each per epoch; updates after batches 4 and 5.
        assert got["seen"] == {"updates": 6, "steps": 15, "steps_per_epoch": 5, "num_processes": 2}
        assert got["given"] == {"updates": 6, "steps": 15, "per_epoch": 5, "processes": 2, "listed": [6]}


def test_a_set_override_may_name_a_run_value() -> None:
    from hookpipe.runtime.plan.overrides import apply_overrides

    plan = apply_overrides(compile_text(SIZED, "sized.pipe"), {"hook.sized.steps": "run.updates"})
    assert plan.hook("sized").args["steps"] == {"$run": "updates"}
    trainer = HookBasedTrainer.from_plan(plan)
    assert trainer.hook_instances["sized"].given["steps"] == 9


PER_EPOCH = """use h = "tests.runtime.hooklib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(
    n=20, lr=0.1, max_epoch=3, grad_accumulation=4,
    lr_scheduler='"torch.optim.lr_scheduler.StepLR"(step_size = run.updates_per_epoch, gamma = 0.5)') + """\
hook optimize = optimizer()
hook sized    = r.Sized(updates_per_epoch = run.updates_per_epoch, per_epoch = run.steps_per_epoch)
loop {
    before { sized }
    epoch { step { after { optimize } } }
}
"""


@pytest.mark.parametrize(("accumulation", "per_epoch"), [(4, 3), (3, 4), (1, 10)])
def test_updates_per_epoch_is_the_epoch_s_updates_under_the_run_s_accumulation(accumulation: int,
                                                                               per_epoch: int) -> None:
    """10 batches per epoch: ceil(10 / A) updates (the epoch's last batch ends a window); under a
    `--set trainer.grad_accumulation=...` too, so a schedule stepped once per epoch's updates stays per epoch."""
    from hookpipe.runtime.plan.overrides import apply_overrides

    plan = apply_overrides(compile_text(PER_EPOCH, "per_epoch.pipe"), {"trainer.grad_accumulation": str(accumulation)})
    trainer = HookBasedTrainer.from_plan(plan)
    assert trainer.hook_instances["sized"].given == {"updates_per_epoch": per_epoch, "per_epoch": 10}
    assert trainer.run.size.updates_per_epoch == per_epoch
    scheduler = trainer.lr_scheduler.scheduler
    assert scheduler.step_size == per_epoch
    trainer()
    # stepped once per update: 3 epochs of `per_epoch` updates halve the lr three times, once per epoch
    assert scheduler.last_epoch == 3 * per_epoch
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
