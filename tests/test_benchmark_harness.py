"""The benchmark harness end to end at toy sizes (the figures themselves live in benchmarks/RESULTS.md)."""

from __future__ import annotations

import io
import json
import sys

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
    hooks = driver.run(rounds=1, warmup=2, steps=5, install=False, log=io.StringIO(), only={"a", "d"},
                       workload="tiny", configs=driver.HOOK_CONFIGS)
    assert all(sorted(c.times) == sorted(label for label, _, _ in driver.HOOK_CONFIGS) for c in hooks)
    tiny = {d.split(":")[1] for c in hooks for d in c.checksums}
    assert len(tiny) == 1 and tiny != {d.split(":")[1] for c in field for d in c.checksums}  # another model, same math
    text = report.runtime_section([*field, missing], rounds=1, warmup=2, steps=5, hooks=hooks, hook_steps=5)
    assert "| (e) a peer | — | — | — | — | not measured: `pip install peer` failed | |" in text
    assert "| (d) hookpipe HookBasedTrainer (.pipe file) |" in text
    first_a = next(line for line in text.splitlines() if line.startswith("| (a) "))
    assert first_a.endswith("| +0.0 |")  # the main table's overhead column: (a) minus itself
    assert "Cost per extra hook, measured on a tiny workload" in text


def test_the_dispatch_benchmark_reports_every_form() -> None:
    from benchmarks import hook_dispatch

    results = hook_dispatch.measure(number=50)
    assert len(results) == 4 and all(value == value for value in results.values())  # no NaN
    text = hook_dispatch.section(results)
    assert all(f"| {name} |" in text for name in results)


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
    model = workload.make_model()
    assert workload.forward_of(model) is model  # the hand-written loops call the model directly on the CPU
    monkeypatch.setenv(workload.WORKLOAD_ENV, "tiny")
    assert [p.shape for p in workload.make_model().parameters()] == [(1, 4), (1,)]
    assert workload.make_batches(3)[0][0].shape == (1, 4)
    plan = hookpipe.compile_text(contenders.pipe_text(0, False, 100), "bench.pipe")
    assert (plan.trainer["mixed_precision"], plan.trainer["cpu"]) == ("no", True)


def test_the_instruction_count_section_reports_ratios_to_the_hand_written_loop() -> None:
    from benchmarks import instructions

    a, d, e = (c for c in driver.contenders() if c.key in "ade")
    text = instructions.section([(a, 1_000_000.0), (d, 1_022_500.0), (e, None)])
    assert "| (a) hand-written PyTorch loop | 1,000,000 | 1.000 | +0 |" in text
    assert "| (d) hookpipe HookBasedTrainer (.pipe file) | 1,022,500 | 1.022 | +22,500 |" in text
    assert f"| ({e.key}) {e.label} | — | | |" in text
    assert "`valgrind` is not installed" in instructions.section(None)


def test_the_step_work_counts_functions_every_step_runs_beyond_the_hand_written_loop() -> None:
    from benchmarks import step_work

    counted = step_work.count(f"{__name__}:_counted_run")
    assert counted["calls"] == 1.0 and counted["opcodes"] > 0  # the loop runs once per run, not per step
    assert [name.split(":")[0::2] for name in counted["functions"]] == [["test_benchmark_harness.py", "_per_step"]]
    a, d, e = (c for c in driver.contenders() if c.key in "ade")
    floor = {"opcodes": 100.0, "calls": 10.0, "functions": ["x.py:1:f"]}
    more = {"opcodes": 150.0, "calls": 12.5, "functions": ["x.py:1:f", "y.py:2:g", "y.py:9:h"]}
    text = step_work.section([(a, floor), (d, more), (e, None)], "custom")
    assert "| (d) hookpipe HookBasedTrainer (.pipe file) | 150 | +50 | 12.5 | +2.5 | 2 |" in text
    assert "--processor custom" in text and f"| ({e.key}) {e.label} | — | | — | | |" in text


def _per_step() -> None:
    pass


def _counted_run(k: int, gated: bool, warmup: int, steps: int) -> None:
    """A contender's ``run`` for step_work.count: one call of ``_per_step`` per step."""
    for _ in range(steps):
        _per_step()


@pytest.mark.slow  # a dozen hookpipe processes
def test_the_compiler_benchmark_measures_a_baseline_revision_beside_this_checkout() -> None:
    from benchmarks import compiler

    results = compiler.run(sizes=(100,), rounds=1, lint_files=2, baseline="HEAD")
    # Every measurement twice: this checkout's, and the exported revision's (the run checks
    # that the compile process imported hookpipe from the export, not from this checkout).
    assert sorted(results) == sorted(name + suffix for name in ("compile 100", "lint one file", "lint 2 files")
                                     for suffix in ("", compiler.BASELINE))
    assert all(len(samples) == 1 and samples[0].seconds > 0 for samples in results.values())
    text = report.compiler_section(results, 1, "HEAD")
    assert "| measurement | time (s) | µs per attachment | peak memory (MB) | `HEAD` (s) | speed-up |" in text
    row = next(line for line in text.splitlines() if line.startswith("| compile 100 |"))
    now, then = results["compile 100"][0].seconds, results["compile 100" + compiler.BASELINE][0].seconds
    assert row.endswith(f"| {then:.3f} | {then / now:.2f}x |")
    with pytest.raises(SystemExit, match="no-such-revision"):
        compiler.run(sizes=(100,), rounds=1, lint_files=1, baseline="no-such-revision")


def test_timed_batches_in_block_mode_wait_for_the_parent_before_each_block(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.runtime.workload import BLOCK_ENV, TimedBatches

    monkeypatch.setenv(BLOCK_ENV, "2")
    monkeypatch.setattr("sys.stdin", io.StringIO("go\n" * 10))
    data = TimedBatches(list(range(8)), warmup=3)  # timed: batches 3-7, blocks of 2, 2 and 1
    seen = []
    for batch in data:
        seen.append(batch)
        if batch == 6:
            break  # a trainer that knows the length stops without asking for more: elapsed() ends the block
    handshakes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert seen == [0, 1, 2, 3, 4, 5, 6]
    assert len(handshakes) == 2 and handshakes[0] == {"block": None} and handshakes[1]["block"] > 0
    assert sys.stdin.read() == "go\n" * 8  # one go consumed per block
    total = data.elapsed()
    assert len(data.blocks) == 2 and total == sum(data.blocks)


@pytest.mark.slow  # starts one worker process per contender
def test_block_mode_lets_the_contenders_take_turns_and_trains_the_same() -> None:
    configs = (("custom __call__", 0, False),)
    whole = driver.run(rounds=1, warmup=2, steps=5, install=False, log=io.StringIO(), only={"a", "d"},
                       configs=configs, processor="custom")
    turns = driver.run(rounds=2, warmup=2, steps=5, install=False, log=io.StringIO(), only={"a", "d"},
                       configs=configs, processor="custom", block=2, fresh=True, shift_layout=True)
    for c in turns:
        assert not c.unavailable and len(c.times["custom __call__"]) == 2
    sums = {d for c in [*whole, *turns] for d in c.checksums}
    assert len(sums) == 1  # the same parameters, bit for bit, whole or in turns


def test_a_shifted_layout_is_drawn_from_its_seed() -> None:
    from benchmarks.runtime.worker import _shifted_layout

    first, again, other = _shifted_layout(7), _shifted_layout(7), _shifted_layout(8)
    sizes = [(t.numel(), len(b), len(objs)) for t, b, objs in (first, again, other)]
    assert sizes[0] == sizes[1] != sizes[2]
    assert sizes[0][0] % 64 == 0 and sizes[0][0] < 1 << 16  # on the heap, not a mapping of its own


def test_the_processor_section_reports_each_ratio_with_its_quartiles_over_rounds() -> None:
    from benchmarks import processor

    label = processor.CONFIG[0][0]
    a = driver.Contender("a", "hand loop", "x:y", times={label: [100e-6, 200e-6, 100e-6, 100e-6, 100e-6]})
    f = driver.Contender("f", "peer", "x:y", times={label: [110e-6, 220e-6, 105e-6, 120e-6, 104e-6]})
    gone = driver.Contender("d", "gone", "x:y", unavailable="worker exited (code 1)")
    text = processor.section([a, f, gone], rounds=5, warmup=2, steps=5)
    assert "| (a) hand loop | 100.0 | 1.000 | 1.000-1.000 | +0.0 |" in text
    # ratios 1.10, 1.10, 1.05, 1.20, 1.04: median 1.10, quartiles (exclusive method) 1.045 and 1.15
    assert "| (f) peer | 110.0 | 1.100 | 1.045-1.150 | +10.0 |" in text
    assert "| (d) gone | worker exited (code 1) | | | |" in text
    assert f"blocks of {processor.BLOCK}" in text


@pytest.mark.parametrize("part", ["accumulate", "scopes", "arguments", "all three", "accelerate's accumulate"])
def test_each_step_part_trains_what_the_hand_written_loop_trains(part: str) -> None:
    from benchmarks import step_parts
    from benchmarks.runtime.workload import checksum, make_batches, make_model

    batches = make_batches(6)
    hand, other = make_model(), make_model()
    step_parts.trainer("hand", hand)(batches)
    step_parts.trainer(part, other)(batches)
    # The part adds work beside the step, never to its arithmetic: a time difference is the part's cost.
    assert checksum(other) == checksum(hand)


def test_the_step_parts_section_reports_each_part_in_the_loop_and_alone() -> None:
    from benchmarks import step_parts

    measured = step_parts.measure(rounds=2, steps=3)
    assert list(measured) == list(step_parts.PARTS) and measured["hand"] == (0.0, 0.0)
    assert all(alone > 0 for part, (_, alone) in measured.items() if part != "hand")
    text = step_parts.section({"hand": (0.0, 0.0), "scopes": (5.25, 0.8)}, rounds=2, steps=3)
    assert "| scopes | +5.25 | 0.80 |" in text and "| hand |" not in text
    assert "2 rounds of 3 steps" in text
