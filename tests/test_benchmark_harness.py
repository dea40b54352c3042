"""The benchmark harness end to end at toy sizes (the figures themselves live in benchmarks/RESULTS.md)."""

from __future__ import annotations

import io

import pytest

from benchmarks import report
from benchmarks.runtime import driver


@pytest.mark.slow  # starts one worker process per contender
def test_runtime_harness_interleaves_workers_and_reports_every_contender() -> None:
    field = driver.run(rounds=1, warmup=2, steps=5, install=False, log=io.StringIO(), only={"a", "d"})
    assert [c.key for c in field] == ["a", "d"]
    for c in field:
        assert not c.unavailable
        assert sorted(c.times) == sorted(label for label, _, _ in driver.CONFIGS)
    # Same math in both contenders: identical final parameters, bit for bit.
    assert {d.split(":")[1] for c in field for d in c.checksums} == {field[0].checksums.pop().split(":")[1]}
    missing = driver.Contender("e", "a peer", "nowhere:run", unavailable="`pip install peer` failed")
    text = report.runtime_section([*field, missing], rounds=1, warmup=2, steps=5)
    assert "| (e) a peer | — | — | — | — | not measured: `pip install peer` failed |" in text
    assert "| (d) hookpipe HookBasedTrainer (.pipe file) |" in text
