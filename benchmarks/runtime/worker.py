"""A contender's worker: ``python -m benchmarks.runtime.worker MODULE:FUNCTION``.

Runs in the contender's own interpreter with one torch thread. It prints one JSON
line when ready (with the versions it runs), then answers each request line
``{"k", "gated", "warmup", "steps"}`` with ``{"seconds", "checksum"}``. A request
with ``"block": B`` runs its timed steps in blocks of ``B`` that wait for the
parent's go (see ``TimedBatches``): the worker's stdin and stdout then carry that
handshake until the answer. ``"layout": seed`` shifts where the run's memory lands
(see ``_shifted_layout``).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import platform
import sys
from typing import Any


def _versions(module: Any) -> dict[str, str]:
    import torch

    found = {"python": platform.python_version(), "torch": torch.__version__}
    extra = getattr(module, "versions", None)
    if callable(extra):
        found.update(extra())
    return found


def _shifted_layout(seed: int) -> tuple[Any, ...]:
    """Allocations of random sizes, kept for one run, so that the run's tensors and objects land elsewhere.

    Where a buffer lands decides cache-set and 4K-aliasing conflicts between the
    step's tensors, and it is the same in every process that allocates the same
    sequence: one contender's code can be lucky or unlucky by several percent for
    every round (Mytkowicz et al., "Producing wrong data without doing anything
    obviously wrong!", ASPLOS 2009). Shifting the heap by a random amount per run
    turns that bias into noise that the median over rounds averages out.
    """
    import random

    import torch

    rng = random.Random(seed)
    return (torch.empty(rng.randrange(0, 1 << 16, 64), dtype=torch.uint8),  # below mmap's threshold: the heap
            bytearray(rng.randrange(0, 4096)), [object() for _ in range(rng.randrange(0, 1024))])


def main() -> int:
    target = sys.argv[1]
    try:
        import torch

        from benchmarks.runtime.workload import BLOCK_ENV

        torch.set_num_threads(1)
        name, _, attr = target.partition(":")
        module = importlib.import_module(name)
        run = getattr(module, attr)
        versions = _versions(module)
    except Exception as exc:  # reported to the parent, which prints it in the table
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ready": True, "versions": versions}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        gc.collect()
        os.environ[BLOCK_ENV] = str(req.get("block", 0))
        layout = _shifted_layout(req["layout"]) if req.get("layout") is not None else None
        try:
            seconds, digest = run(req["k"], req["gated"], req["warmup"], req["steps"])
        except Exception as exc:
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
            continue
        finally:
            del os.environ[BLOCK_ENV]
            del layout
        print(json.dumps({"seconds": seconds, "checksum": digest}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
