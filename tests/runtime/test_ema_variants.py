"""``ema(momentum = "exp" | "linear", buffers = true)``: MMEngine's averaging formulas, checked by hand.

The reference below is written from MMEngine's ``BaseAveragedModel.update_parameters``
(step 0 copies the source, step k >= 1 calls ``avg_func(avg, src, k)``),
``MomentumAnnealingEMA.avg_func`` (``m = max(momentum, gamma / (gamma + k))``) and
MMDetection's ``ExpMomentumEMA.avg_func`` (``m = (1 - momentum) * exp(-(1 + k) / gamma)
+ momentum``), each ``avg * (1 - m) + src * m``, with ``update_buffers = True`` averaging
the floating-point buffers too. Compared to float tolerance: hookpipe lerps in place
(``torch._foreach_lerp_``), MMEngine multiplies and adds, so the roundings differ.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hookpipe.compiler import compile_text
from hookpipe.errors import CompileError
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.args import PipelineHookArgs
from tests.runtime.planbuild import tiny_trainer_text

STATES: list[dict[str, torch.Tensor]] = []


def bn_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))


class StateRecorder:
    """Records the floating-point state (parameters and buffers) after each optimizer update."""

    effects = {"reads": ("params",)}

    def on_step_end(self, args: PipelineHookArgs) -> None:
        if args.accelerator.sync_gradients:
            model = args.accelerator.unwrap_model(args.model)
            STATES.append({k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()})


def pipe(ema_args: str) -> str:
    return ('use h = "tests.runtime.hooklib"\nuse v = "tests.runtime.test_ema_variants"\n'
            + tiny_trainer_text(n=12, lr=0.05, max_step=12, seed=0, cpu=True, progress=False,
                                model="v.bn_model()")
            + f"""
hook optimize = optimizer()
hook record   = v.StateRecorder()
hook average  = ema({ema_args})

loop {{ epoch {{ step {{ after {{
    optimize
    record
    average
}} }} }} }}
""")


def mmengine_average(states: list[dict[str, torch.Tensor]], momentum: float, ramp: str, gamma: int,
                     buffers: bool, params: set[str]) -> dict[str, torch.Tensor]:
    avg = {k: v.clone() for k, v in states[0].items() if buffers or k in params}
    for k_step, src in enumerate(states[1:], 1):
        if ramp == "exp":
            m = (1 - momentum) * math.exp(-float(1 + k_step) / gamma) + momentum
        elif ramp == "linear":
            m = max(momentum, gamma / (gamma + k_step))
        else:
            m = momentum
        avg = {k: a * (1 - m) + src[k] * m for k, a in avg.items()}
    return avg


@pytest.mark.parametrize(("ema_args", "ramp", "buffers"), [
    ('decay = 0.9, momentum = "exp", gamma = 4, buffers = true', "exp", True),
    ('decay = 0.9, momentum = "linear", gamma = 3', "linear", False),
    ("decay = 0.8, warmup = false, buffers = true", "none", True),
])
def test_the_average_is_mmengines(ema_args: str, ramp: str, buffers: bool) -> None:
    STATES.clear()
    trainer = HookBasedTrainer.from_plan(compile_text(pipe(ema_args), "ema.pipe"))
    trainer()
    ema = trainer.hook_instances["average"]
    assert len(STATES) == ema.updates == 12
    params = {n for n, _ in trainer.accelerator.unwrap_model(trainer.model).named_parameters()}
    decay = 0.9 if ramp != "none" else 0.8
    want = mmengine_average(STATES, 1 - decay, ramp, 4 if ramp == "exp" else 3, buffers, params)
    got = ema.averaged_state_dict()
    assert set(got) == set(want)
    assert buffers == ("1.running_mean" in got)
    for name, tensor in want.items():
        torch.testing.assert_close(got[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    # swapped in, the buffers come too; afterwards the live state is back bit for bit
    model = trainer.accelerator.unwrap_model(trainer.model)
    live = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with ema.swapped_in(trainer.model):
        inside = model.state_dict()
        assert torch.equal(inside["1.running_mean"], got["1.running_mean"] if buffers else live["1.running_mean"])
        assert torch.equal(inside["0.weight"], got["0.weight"])
    assert all(torch.equal(model.state_dict()[k], v) for k, v in live.items())


def test_two_ramps_at_once_are_hp003() -> None:
    with pytest.raises(CompileError) as err:
        compile_text(pipe('decay = 0.9, warmup = true, momentum = "exp"'), "ema.pipe")
    (diag,) = err.value.diagnostics
    assert diag.code == "HP003" and "two ramps" in diag.message
