"""``swa(start, lr, ...)`` against ``torch.optim.swa_utils`` done by hand on the same data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn

from hookpipe.compiler import compile_text
from hookpipe.errors import CompileError
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.errors import HookpipeRuntimeError, PlanResolveError
from tests.helpers import run_cli
from tests.runtime import hooklib, trackinglib
from tests.runtime.planbuild import tiny_trainer_text
from tests.runtime.test_ema_variants import bn_model

EPOCHS, START, SWA_LR, ANNEAL, LR = 5, 2, 0.02, 2, 0.05

PIPE = ('use h = "tests.runtime.hooklib"\nuse v = "tests.runtime.test_ema_variants"\n'
        'use t = "tests.runtime.trackinglib"\n'
        + tiny_trainer_text(n=12, lr=LR, max_epoch=EPOCHS, seed=0, cpu=True, progress=False, model="v.bn_model()",
                            sanity_val_batches=0)  # the test counts the callback's calls
        + f"""
hook optimize = optimizer()
hook average  = swa(start = {START}, lr = {SWA_LR}, anneal_epochs = {ANNEAL}, anneal_strategy = "linear")
hook evaluate = validation(callback = t.seen_weights, weights = "average")

loop {{
    epoch {{
        step {{ after {{ optimize }} }}
        after {{ average }}
    }}
    after {{
        average
        evaluate
    }}
}}
""")


def by_hand() -> tuple[torch.nn.Module, AveragedModel, list[float]]:
    """PyTorch's documented SWA recipe on the same model, data and optimizer."""
    model = bn_model()
    loader = hooklib.tiny_loader(n=12, batch_size=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    swa_model = AveragedModel(model)
    swa_scheduler = SWALR(optimizer, swa_lr=SWA_LR, anneal_epochs=ANNEAL, anneal_strategy="linear")
    lrs = []
    for epoch in range(EPOCHS):
        for x, y in loader:
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        if epoch + 1 >= START:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    update_bn(loader, swa_model)
    return model, swa_model, lrs


def test_swa_matches_swa_utils_by_hand() -> None:
    trackinglib.SEEN.clear()
    trainer = HookBasedTrainer.from_plan(compile_text(PIPE, "swa.pipe"))
    trainer()
    swa = trainer.hook_instances["average"]
    model, swa_model, lrs = by_hand()
    assert int(swa.averaged.n_averaged) == int(swa_model.n_averaged) == EPOCHS - START + 1
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(lrs[-1]) and lrs[-1] == pytest.approx(SWA_LR)
    got, want = swa.averaged_state_dict(), swa_model.module.state_dict()
    assert set(got) == set(want)
    for name, tensor in want.items():  # bitwise: the same operations on the CPU in the same order
        assert torch.equal(got[name], tensor), name
    live = trainer.accelerator.unwrap_model(trainer.model)
    assert all(torch.equal(p, q) for p, q in zip(live.parameters(), model.parameters()))
    # validation(weights = "average") evaluated the average (with its update_bn statistics) at the end
    (seen,) = trackinglib.SEEN
    assert all(torch.equal(s, a) for s, a in zip(seen, swa_model.module.parameters()))
    assert not all(torch.equal(s, p) for s, p in zip(seen, live.parameters()))


#: The same pipeline with a trainer lr_scheduler, which SWALR's learning rate cannot share.
SCHEDULED = PIPE.replace("    batch_processor", '    lr_scheduler    = "torch.optim.lr_scheduler.ConstantLR"()\n'
                         "    batch_processor")


def _line(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith(start))


def test_check_refuses_swa_with_a_trainer_scheduler_at_the_hook_with_a_note_at_the_setting() -> None:
    with pytest.raises(CompileError) as err:
        compile_text(SCHEDULED, "swa.pipe")
    (found,) = err.value.diagnostics
    assert (found.code, found.severity, found.span.line) == ("HP003", "error", _line(SCHEDULED, "hook average"))
    assert found.message.startswith(f"`average` (swa) cannot run with a trainer `lr_scheduler`: from its start "
                                    f"(epoch {START}) SWALR sets the learning rate")
    (note,) = found.notes
    assert note.span is not None and note.span.line == _line(SCHEDULED, "lr_scheduler")
    assert found.help is not None and found.help.startswith("remove `lr_scheduler` from the trainer block")
    # `lr_scheduler = none` is no schedule
    compile_text(SCHEDULED.replace('"torch.optim.lr_scheduler.ConstantLR"()', "none"), "swa.pipe")


def test_run_refuses_swa_with_a_scheduler_before_training_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "swa.pipe"
    path.write_text(SCHEDULED, encoding="utf-8")
    result = run_cli("run", str(path))
    assert result.code == 1 and "Traceback" not in result.output
    assert f"{path}:{_line(SCHEDULED, 'hook average')}:17: HP003 error: `average` (swa) cannot run" in result.err
    assert not (tmp_path / "runs").exists()


def test_a_plan_given_a_scheduler_in_python_is_refused_before_anything_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    from hookpipe.runtime import build

    def no_accelerator(*args: object, **kwargs: object) -> None:
        raise AssertionError("the refusal comes before the accelerator, the model and the data")

    monkeypatch.setattr(build, "make_accelerator", no_accelerator)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    with pytest.raises(PlanResolveError) as err:
        HookBasedTrainer.from_plan(compile_text(PIPE, "swa.pipe"),
                                   lr_scheduler=torch.optim.lr_scheduler.ConstantLR(optimizer))
    assert str(err.value) == (f"swa.pipe: `average` (swa) cannot run with a trainer lr_scheduler: from its start "
                              f"(epoch {START}) SWALR sets the learning rate, and the optimizer hook steps the "
                              "lr_scheduler on every update, which would overwrite it; remove the lr_scheduler "
                              "(swa takes over the learning rate at its start), or the swa hook")


def test_a_trainer_built_in_python_gets_the_same_error_when_the_averaging_would_start() -> None:
    """The backstop for hooks registered by hand: no Plan said swa was there."""
    from hookpipe.runtime import HookContext, PipelineHooks
    from hookpipe.runtime.builtins.swa import SwaHook

    model = hooklib.tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    swa = SwaHook(start=START, lr=SWA_LR)
    hooks = PipelineHooks()
    hooks.register_hook("on_epoch", HookContext.from_callable(after=swa.on_epoch_end))
    epochs: list[int] = []
    hooks.register_hook("on_epoch", HookContext.from_callable(after=lambda a: epochs.append(a.epoch_id)))
    trainer = HookBasedTrainer(Accelerator(cpu=True), model, hooklib.tiny_loader(n=4, batch_size=2), hooklib.MSE(),
                               optimizer, torch.optim.lr_scheduler.ConstantLR(optimizer), hooks=hooks,
                               max_epoch=EPOCHS)
    with pytest.raises(HookpipeRuntimeError) as err:
        trainer()
    assert epochs == list(range(START - 1))  # the end of epoch START is where it stops
    assert str(err.value).startswith(f"swa cannot run with a trainer lr_scheduler: from its start (epoch {START})")
    assert swa.averaged is None and swa.scheduler is None


def test_swa_arguments_are_checked() -> None:
    with pytest.raises(CompileError) as err:
        compile_text(PIPE.replace(f"start = {START}", "start = 0"), "swa.pipe")
    assert [d.code for d in err.value.diagnostics] == ["HP003"]


def test_the_swa_state_round_trips_through_its_state_dict() -> None:
    """What a checkpoint stores gives the same average back (and SWALR its steps)."""
    from hookpipe.runtime.builtins.swa import SwaHook

    trainer = HookBasedTrainer.from_plan(compile_text(PIPE, "swa.pipe"))
    trainer()
    swa = trainer.hook_instances["average"]
    state = swa.state_dict()
    assert state["n_averaged"] == EPOCHS - START + 1 and state["scheduler_steps"] == EPOCHS - START + 1
    fresh = SwaHook(start=START, lr=SWA_LR, anneal_epochs=ANNEAL, anneal_strategy="linear")
    fresh.load_state_dict({**state, "averaged": [t.clone() for t in state["averaged"]]})
    assert fresh.state_dict()["scheduler_steps"] == state["scheduler_steps"]
    model = trainer.accelerator.unwrap_model(trainer.model)
    with fresh.swapped_in(model):
        inside = [p.detach().clone() for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(inside, state["averaged"]))
    assert fresh.state_dict()["n_averaged"] == state["n_averaged"]
    assert fresh.state_dict()["scheduler_steps"] == state["scheduler_steps"]
