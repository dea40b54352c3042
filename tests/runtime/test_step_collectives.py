"""No per-step collective in a default ``.pipe`` run on two processes, beyond DDP's own gradient all-reduce.

``log()`` and ``loss_log`` average the loss over processes when they report, the
progress display shows the main process's own loss, and the processes agree on
a stop every few steps asynchronously (``stop_agreement``): the steps between
carry no collective. The seed's ``average_loss = true`` (one all-reduce per
step) is what the count would show otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe import compile_text
from hookpipe.runtime.distributed.stop_agreement import DEFAULT_EVERY
from tests.helpers import launch_two
from tests.runtime.planbuild import tiny_trainer_text

STEPS = 24
LOG_EVERY, LOSS_WINDOW = 10, 5


def _pipe(record: Path, processor: str) -> str:
    return ('pipeline "collectives"\nuse h = "tests.runtime.hooklib"\nuse l = "tests.runtime.losslib"\n'
            'use c = "tests.runtime.collectives"\n'
            + tiny_trainer_text(n=128, max_step=STEPS, seed=0, cpu=True, progress=True, batch_processor=processor)
            + f"""
hook optimize = optimizer()
hook record   = log()
hook losses   = loss_log(window = {LOSS_WINDOW})
hook count    = c.StepCollectives(path = "{record}")

loop {{
    epoch {{
        step {{
            after {{
                optimize
                record every {LOG_EVERY} steps
                losses
                count
            }}
        }}
    }}
}}
""")


def _per_step(path: Path) -> dict[int, int]:
    """Collectives started during each step after the first (1-based), from the counts at the steps' ends."""
    counts = [int(line.split()[1]) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(counts) == STEPS
    return {step: counts[step - 1] - counts[step - 2] for step in range(2, STEPS + 1)}


@pytest.mark.slow
@pytest.mark.parametrize("processor", ["l.MeanSquared()", "l.MeanSquared(average_loss = true)"])
def test_a_default_pipe_run_has_no_collective_per_step(tmp_path: Path, processor: str) -> None:
    record = tmp_path / "collectives"
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(compile_text(_pipe(record, processor), str(tmp_path / "c.pipe")).to_json(), encoding="utf-8")
    done = launch_two("tests.runtime.collectives", str(plan_file), timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in (0, 1):
        per_step = _per_step(Path(f"{record}.{rank}"))
        if "average_loss = true" in processor:  # the seed's default: an all-reduce every step
            assert all(n >= 1 for n in per_step.values()), per_step
            continue
        # A step's count runs from the end of the previous step: the stop check after step s shows in s + 1.
        expected = {s: (s % LOG_EVERY == 0) + (s % LOSS_WINDOW == 0) + ((s - 1) % DEFAULT_EVERY == 0)
                    for s in per_step}
        assert per_step == expected
        assert sum(1 for n in per_step.values() if n == 0) >= STEPS // 2
