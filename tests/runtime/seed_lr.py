"""Run a ``.pipe`` file through ``from_plan`` with accelerate's default scheduler stepping (the seed's).

``python -m tests.runtime.seed_lr FILE`` under ``accelerate launch``: the contrast the
per-update test needs, so it shows a difference it could fail on.
"""

from __future__ import annotations

import sys

from accelerate import Accelerator

from hookpipe.runtime.distributed.teardown import exit_process


def main() -> None:
    from hookpipe.compiler import compile_file
    from hookpipe.runtime import HookBasedTrainer

    plan = compile_file(sys.argv[1])
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=int(plan.trainer["grad_accumulation"]))
    HookBasedTrainer.from_plan(plan, accelerator=accelerator)()
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main()
    exit_process(0)  # barrier, destroy the process group, exit: no gloo thread outlives the interpreter
