"""``swa(start, lr, ...)`` against ``torch.optim.swa_utils`` done by hand on the same data."""

from __future__ import annotations

import pytest
import torch
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn

from hookpipe.compiler import compile_text
from hookpipe.errors import CompileError
from hookpipe.runtime import HookBasedTrainer
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


def test_swa_refuses_a_trainer_scheduler_that_would_fight_swalr() -> None:
    text = PIPE.replace("    batch_processor", '    lr_scheduler    = "torch.optim.lr_scheduler.ConstantLR"()\n'
                        "    batch_processor")
    trainer = HookBasedTrainer.from_plan(compile_text(text, "swa.pipe"))
    with pytest.raises(Exception) as err:
        trainer()
    assert "lr_scheduler would overwrite SWALR" in str(err.value.__cause__ or err.value)


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
