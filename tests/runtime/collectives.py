"""Count ``torch.distributed``'s collectives per step in a run (``python -m tests.runtime.collectives PLAN``).

Run under ``accelerate launch``, this wraps the collectives of ``torch.distributed``
(what hookpipe, accelerate and the hooks call through the module at call time)
with a counter, then runs ``hookpipe.runtime.run PLAN``. :class:`StepCollectives`,
a hook at the end of each step, writes ``global_step_id count`` per rank to
``<path>.<rank>``. DDP's own gradient all-reduce runs in its C++ reducer and is
not counted: what is left is what the pipeline adds.
"""

from __future__ import annotations

import functools
import runpy
import sys
from typing import Any, Callable

from hookpipe.runtime import PipelineHookArgs

#: The collectives of torch.distributed's public API.
NAMES = ("all_reduce", "all_gather", "all_gather_object", "all_gather_into_tensor", "all_to_all", "all_to_all_single",
         "barrier", "monitored_barrier", "broadcast", "broadcast_object_list", "gather", "gather_object", "reduce",
         "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list")

#: Collectives started so far in this process (a collective calling another counts once).
COUNT = [0]
_DEPTH = [0]


def _counted(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def counted(*args: Any, **kwargs: Any) -> Any:
        if _DEPTH[0] == 0:
            COUNT[0] += 1
        _DEPTH[0] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1

    return counted


def install() -> None:
    import torch.distributed as dist

    for name in NAMES:
        if hasattr(dist, name):
            setattr(dist, name, _counted(getattr(dist, name)))


class StepCollectives:
    """Appends ``global_step_id collectives-so-far`` to ``<path>.<rank>`` at the end of each step."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_step_end(self, args: PipelineHookArgs) -> None:
        with open(f"{self.path}.{args.accelerator.process_index}", "a", encoding="utf-8") as f:
            f.write(f"{args.global_step_id} {COUNT[0]}\n")


if __name__ == "__main__":
    from tests.runtime import collectives  # the module the plan's hook reads COUNT from (not __main__'s copy)

    collectives.install()
    sys.argv = ["hookpipe.runtime.run", *sys.argv[1:]]
    runpy.run_module("hookpipe.runtime.run", run_name="__main__", alter_sys=True)
