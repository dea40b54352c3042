"""``reduce_loss`` across processes: averaged where the file asks (the seed's default), each rank's own by default.

A ``.pipe`` run leaves the per-step all-reduce out unless the processor's call
says ``average_loss = true`` (``log()`` and ``loss_log`` average when they report).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.runtime import PipelineHookArgs
from tests.helpers import launch_two
from tests.runtime.planbuild import entry, hook, plan, tiny_trainer


class LossFile:
    """Appends ``global_step reduce_loss`` to ``<path>.<rank>`` after each step."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_step_end(self, args: PipelineHookArgs) -> None:
        with open(f"{self.path}.{args.accelerator.process_index}", "a", encoding="utf-8") as f:
            f.write(f"{args.global_step_id} {float(args.reduce_loss):.10f}\n")


@pytest.mark.slow
@pytest.mark.parametrize("average", [True, False])
def test_ranks_see_the_mean_only_where_the_file_asks_for_it(tmp_path: Path, average: bool) -> None:
    record = tmp_path / "losses"
    args = {"average_loss": True} if average else {}
    p = plan(
        tiny_trainer(n=16, max_step=3,
                     batch_processor={"$call": "tests.runtime.losslib:MeanSquared", "args": args}),
        [hook("optimize", "optimizer", {}, builtin=True),
         hook("losses", "tests.runtime.test_distributed_reduce_loss:LossFile", {"path": str(record)})],
        [entry("optimize", "step", "after"), entry("losses", "step", "after")],
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(p.to_json(), encoding="utf-8")
    done = launch_two("hookpipe.runtime.run", str(plan_file), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rank0 = (tmp_path / "losses.0").read_text().splitlines()
    rank1 = (tmp_path / "losses.1").read_text().splitlines()
    assert len(rank0) == len(rank1) == 3
    if average:
        assert rank0 == rank1  # the shards differ; their mean does not
    else:
        assert all(a != b for a, b in zip(rank0, rank1))  # each rank's own shard's loss
