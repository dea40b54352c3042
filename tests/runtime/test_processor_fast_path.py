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

from hookpipe.runtime import BatchProcessorMixin, HookBasedTrainer
from hookpipe.runtime.fastpath import install_plain_backward
from tests.runtime.hooklib import tiny_loader, tiny_model


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
