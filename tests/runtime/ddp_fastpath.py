"""Train under DDP on the fast path or on accelerate's own calls; rank 0 writes the result.

``python -m tests.runtime.ddp_fastpath OUT.json fast|accelerate ACCUMULATION`` under
``accelerate launch`` (two processes): ``test_fastpath`` compares the two runs.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator

from hookpipe.runtime import GradientClippingHookConfig, HookBasedTrainer, SimpleBatchProcessor, fastpath
from hookpipe.runtime.distributed.teardown import exit_process


class _MSE(SimpleBatchProcessor):
    def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
        x, y = batch
        out = model(x)
        return out, F.mse_loss(out, y)


def main(out: str, mode: str, accumulation: int) -> None:
    if mode == "accelerate":
        fastpath._plain_ok = lambda acc: False  # type: ignore[assignment]
        fastpath._plain_optimizer = lambda opt: False  # type: ignore[assignment]
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=accumulation)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    g = torch.Generator().manual_seed(1 + accelerator.process_index)  # each rank its own data: DDP averages
    batches = [(torch.randn(4, 8, generator=g) * 3, torch.randn(4, 1, generator=g)) for _ in range(11)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    trainer = HookBasedTrainer(
        accelerator, model, batches, _MSE(), optimizer,
        torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5),
        max_epoch=2, grad_clip=GradientClippingHookConfig(clip_mode="norm", max_norm=0.5),
    )
    trainer()
    digest = hashlib.sha256()
    for p in accelerator.unwrap_model(trainer.model).parameters():
        digest.update(p.detach().numpy().tobytes())
    if accelerator.is_main_process:
        Path(out).write_text(json.dumps({
            "path": type(fastpath.fast_path(accelerator)).__name__,
            "distributed": str(accelerator.distributed_type),
            "params": digest.hexdigest(),
        }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    exit_process(0)  # barrier, destroy the process group, exit: no gloo thread outlives the interpreter
