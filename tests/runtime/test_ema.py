"""``ema(decay)``: the average after each optimizer update, and ``validation(weights = "ema")``."""

from __future__ import annotations

import pytest
import torch

from hookpipe.compiler import compile_text
from hookpipe.errors import CompileError
from hookpipe.runtime import HookBasedTrainer
from tests.runtime import trackinglib
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """pipeline "ema"
use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"

""" + tiny_trainer_text(n=10, lr=0.05, max_step=10, grad_accumulation=2, seed=0, cpu=True, progress=False,
                        sanity_val_batches=0) + """\
# no sanity validation: the tests count every validation call (trackinglib.SEEN)
hook optimize = optimizer()
hook average  = ema(decay = 0.8, warmup = WARMUP)
hook params   = t.ParamRecorder()
hook evaluate = validation(callback = t.seen_weights, weights = "ema")

loop {
    epoch {
        step {
            after {
                optimize
                params
                average
                evaluate every 4 steps
            }
        }
    }
}
"""


def train(warmup: str = "false") -> HookBasedTrainer:
    trackinglib.UPDATES.clear()
    trackinglib.SEEN.clear()
    trainer = HookBasedTrainer.from_plan(compile_text(PIPE.replace("WARMUP", warmup), "ema.pipe"))
    trainer()
    return trainer


def expected_average(decays: list[float]) -> list[torch.Tensor]:
    """The average of the recorded updates, starting from the weights after the first."""
    shadow = [p.clone() for p in trackinglib.UPDATES[0]]
    for update, decay in zip(trackinglib.UPDATES[1:], decays[1:]):
        shadow = [decay * s + (1 - decay) * p for s, p in zip(shadow, update)]
    return shadow


@pytest.mark.parametrize("warmup", ["false", "true"])
def test_the_average_follows_each_optimizer_update(warmup: str) -> None:
    trainer = train(warmup)
    ema = trainer.hook_instances["average"]
    # 5 batches per epoch, accumulation 2: updates after batches 2, 4 and 5 of each epoch.
    assert len(trackinglib.UPDATES) == ema.updates == 6
    decays = [min(0.8, (1 + n) / (10 + n)) if warmup == "true" else 0.8 for n in range(6)]
    got = list(ema.averaged_state_dict().values())
    for g, e in zip(got, expected_average(decays)):
        torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-7)


def test_validation_sees_the_average_and_training_weights_come_back_bitwise() -> None:
    train()
    updates = list(trackinglib.UPDATES)
    # Evaluations after 4 steps (2 updates) and 8 steps (4 updates: 3 in epoch 0, 1 in epoch 1).
    assert len(trackinglib.SEEN) == 2
    for seen, n in zip(trackinglib.SEEN, (2, 4)):
        trackinglib.UPDATES[:] = updates[:n]
        for s, e in zip(seen, expected_average([0.8] * n)):
            torch.testing.assert_close(s, e, rtol=1e-6, atol=1e-7)
        assert not all(torch.equal(s, p) for s, p in zip(seen, updates[n - 1]))


def test_swapping_in_restores_the_training_weights_bit_for_bit() -> None:
    from hookpipe.runtime.builtins.ema import EmaHook

    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 1))
    ema = EmaHook(decay=0.5)
    ema.load_state_dict({"updates": 1, "names": [n for n, _ in model.named_parameters()],
                         "shadow": [torch.randn_like(p) for p in model.parameters()]})
    before = [p.detach().clone() for p in model.parameters()]
    with ema.swapped_in(model):
        inside = [p.detach().clone() for p in model.parameters()]
    assert all(torch.equal(i, s) for i, s in zip(inside, ema.averaged_state_dict().values()))
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_weights_ema_without_an_ema_hook_is_hp003() -> None:
    text = PIPE.replace("WARMUP", "true").replace('hook average  = ema(decay = 0.8, warmup = true)\n', "")
    text = text.replace("                average\n", "")
    with pytest.raises(CompileError) as err:
        compile_text(text, "ema.pipe")
    (diag,) = err.value.diagnostics
    assert diag.code == "HP003" and "needs exactly one `ema` hook (found none)" in diag.message


def test_validation_of_the_average_is_ordered_after_it() -> None:
    text = PIPE.replace("WARMUP", "true").replace("                average\n                evaluate every 4 steps\n",
                                                  "                evaluate every 4 steps\n                average\n")
    with pytest.raises(CompileError) as err:
        compile_text(text, "ema.pipe")
    (diag,) = err.value.diagnostics
    assert diag.code == "HP005" and "`average` writes `ema`" in diag.message
