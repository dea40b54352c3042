"""The seed's processors on the fast path: a ``BatchProcessorMixin.__call__`` calling ``accelerator.backward``.

For the run, ``accelerator.backward`` is the plain PyTorch path where fastpath
decides that is exact; the parameters are bitwise those of accelerate's own
backward (an ``Accelerator`` subclass with its own ``backward`` keeps it).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from hookpipe.runtime import (
    BatchProcessorMixin,
    HookBasedTrainer,
)
from hookpipe.runtime.fastpath import install_plain_backward
from tests.runtime import hooklib
from tests.runtime.hooklib import recorded_seed_run, tiny_loader, tiny_model


class CallMSE(BatchProcessorMixin):
    """The seed's contract: open the model scopes, call ``accelerator.backward`` itself."""

    def __init__(self) -> None:
        self.backwards: list[Any] = []

    def __call__(self, pipeline_hooks: Any, on_batch_hook_args: Any, model: Any) -> None:
        x, y = on_batch_hook_args.batch
        with pipeline_hooks.begin("on_model_forward", on_batch_hook_args) as fwd:
            out = model(x)
            loss = F.mse_loss(out, y)
            fwd.model_outputs, fwd.reduce_loss = out, loss
        with pipeline_hooks.begin("on_model_backward", on_batch_hook_args):
            acc = on_batch_hook_args.accelerator
            self.backwards.append(acc.backward)
            acc.backward(loss)
        on_batch_hook_args.model_outputs, on_batch_hook_args.reduce_loss = out, loss


class OwnBackward(Accelerator):
    """A subclass with its own backward (here accelerate's, unchanged): nothing is installed."""

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        super().backward(loss, **kwargs)


def train(accelerator: Accelerator, processor: CallMSE) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = tiny_model(dropout=0.2)
    trainer = HookBasedTrainer(accelerator=accelerator, model=model, dataloader=tiny_loader(n=12, batch_size=2),
                               batch_processor=processor, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                               lr_scheduler=None, max_step=12)
    trainer()
    return {k: v.detach().clone() for k, v in accelerator.unwrap_model(model).state_dict().items()}


@pytest.mark.parametrize("accumulation", [1, 3])
def test_the_plain_backward_is_bitwise_accelerates(accumulation: int) -> None:
    fast_acc, fast = Accelerator(cpu=True, gradient_accumulation_steps=accumulation), CallMSE()
    slow_acc, slow = OwnBackward(cpu=True, gradient_accumulation_steps=accumulation), CallMSE()
    got, expected = train(fast_acc, fast), train(slow_acc, slow)
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], expected[k]) for k in got)
    # During the run the processor's accelerator.backward was the plain one; afterwards the method again.
    assert all(getattr(b, "__func__", None) is None for b in fast.backwards)
    assert all(getattr(b, "__func__", None) is OwnBackward.backward for b in slow.backwards)
    assert "backward" not in vars(fast_acc) and fast_acc.backward.__func__ is Accelerator.backward


def test_nothing_is_installed_where_the_path_is_not_plain() -> None:
    acc = Accelerator(cpu=True, mixed_precision="fp16") if torch.cuda.is_available() else OwnBackward(cpu=True)
    undo = install_plain_backward(acc)
    assert "backward" not in vars(acc)
    undo()


# -- a processor's own __call__: the generated step, the reference step and accelerate's own calls ----------


def _seed_call_run(accumulation: int, with_hooks: bool) -> tuple[list[torch.Tensor], list[Any]]:
    return recorded_seed_run(hooklib.CallMSE(), accumulation, with_hooks, dropout=0.2)  # dropout's draws line up too


def _plan_call_run(tmp_path: Any, accumulation: int, with_hooks: bool) -> tuple[list[torch.Tensor], list[Any]]:
    import hookpipe
    from tests.runtime.planbuild import tiny_trainer_text

    text = 'use h = "tests.runtime.hooklib"\n' + tiny_trainer_text(
        n=10, max_step=13, grad_accumulation=accumulation, batch_processor="h.CallMSE()")
    text += "hook optimize = optimizer()\n"
    if with_hooks:
        text += """\
hook clip = grad_clip(mode = "norm", max_norm = 0.05)
hook fwd  = h.Recorder(tag = "fwd")
hook bwd  = h.Recorder(tag = "bwd")
loop { epoch { step {
    after { clip -> optimize }
    batch {
        forward {
            before { fwd }
            after { fwd every 2 updates }
        }
        backward {
            before { bwd }
            after { bwd }
        }
    }
} } }
"""
    else:
        text += "loop { epoch { step { after { optimize } } } }\n"
    hooklib.LOG.clear()
    trainer = HookBasedTrainer.from_plan(hookpipe.compile_text(text, str(tmp_path / "call.pipe")))
    trainer()
    return [p.detach().clone() for p in trainer.model.parameters()], list(hooklib.LOG)


def _accelerates_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every per-step call through accelerate itself: accumulate(), backward, clip, the optimizer's methods."""
    from hookpipe.runtime import fastpath

    monkeypatch.setattr(fastpath, "_plain_ok", lambda acc: False)
    monkeypatch.setattr(fastpath, "_plain_optimizer", lambda opt: False)


@pytest.mark.parametrize("accumulation", [1, 3])
@pytest.mark.parametrize("with_hooks", [False, True])
@pytest.mark.parametrize("api", ["seed", "pipe"])
def test_a_processor_with_its_own_call_trains_bitwise_alike_on_every_path(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, api: str, accumulation: int, with_hooks: bool) -> None:
    from hookpipe.runtime.loop.step_program import REFERENCE_ENV

    def run() -> tuple[list[torch.Tensor], list[Any]]:
        return _seed_call_run(accumulation, with_hooks) if api == "seed" else _plan_call_run(
            tmp_path, accumulation, with_hooks)

    generated, generated_log = run()
    with monkeypatch.context() as m:
        m.setenv(REFERENCE_ENV, "1")
        reference, reference_log = run()
    with monkeypatch.context() as m:
        _accelerates_own(m)
        accelerates, accelerates_log = run()
    for other in (reference, accelerates):
        assert all(torch.equal(p, q) for p, q in zip(generated, other, strict=True))
    assert generated_log == reference_log == accelerates_log
    assert not all(torch.equal(p, q) for p, q in zip(generated, [p.detach() for p in tiny_model().parameters()]))
    if with_hooks:  # the processor opened the model scopes: their hooks ran, every step
        channels = {entry[0] for entry in generated_log}  # the seed's hooks also log accelerate's bookkeeping
        assert channels == ({"on_step", "on_batch", "on_model_forward", "on_model_backward", "accelerate"}
                            if api == "seed" else {"fwd", "bwd"})
        assert len({entry[2] for entry in generated_log if entry[0] != "accelerate"}) == 13
    else:
        assert generated_log == []
