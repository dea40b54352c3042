"""Cost of ``hookpipe run --check-effects`` on the digits example.

Run: python -m benchmarks.check_effects [--rounds 5] [--epochs 20]
Trains the digits pipeline as shipped (its validation and checkpoints included)
with and without effect checking, interleaved, one torch thread, and prints the
median training time per step of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from hookpipe.runtime import HookBasedTrainer

PIPE = "examples/digits/train.pipe"


def one(check: bool, epochs: int, folder: str) -> float:
    overrides = {"trainer.max_epoch": str(epochs), "hook.save.dir": folder}
    trainer = HookBasedTrainer.from_file(PIPE, overrides, check_effects=check)
    start = time.perf_counter()
    trainer()
    steps = trainer.trainer_progress_state.global_step_id
    return (time.perf_counter() - start) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    plain: list[float] = []
    checked: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        one(False, 1, folder)  # warm-up
        for _ in range(args.rounds):
            plain.append(one(False, args.epochs, folder))
            checked.append(one(True, args.epochs, folder))
    a, b = statistics.median(plain), statistics.median(checked)
    print(f"| run | µs / step |\n|---|---:|\n| plain | {a:.0f} |\n| --check-effects | {b:.0f} |")
    print(f"ratio {b / a:.2f}x ({args.rounds} interleaved rounds, {args.epochs} epochs of 45 steps each)")


if __name__ == "__main__":
    main()
