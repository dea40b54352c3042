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


def test_the_cuda_configuration_is_bf16_autocast_and_a_valid_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    import hookpipe
    from benchmarks.runtime import contenders, workload

    monkeypatch.setenv(workload.DEVICE_ENV, "cuda")
    assert workload.accelerator_kwargs() == {"mixed_precision": "bf16"}
    assert workload.device().type == "cuda"
    plan = hookpipe.compile_text(contenders.pipe_text(2, True, 100), "bench.pipe")
    assert (plan.trainer["mixed_precision"], plan.trainer["cpu"]) == ("bf16", False)
    monkeypatch.setenv(workload.DEVICE_ENV, "cpu")
    assert workload.accelerator_kwargs() == {"cpu": True}
    assert isinstance(workload.autocast(), contextlib.nullcontext)
    plan = hookpipe.compile_text(contenders.pipe_text(0, False, 100), "bench.pipe")
    assert (plan.trainer["mixed_precision"], plan.trainer["cpu"]) == ("no", True)
