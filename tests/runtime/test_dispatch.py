"""Compiled phase functions: same calls, same order, same guards as the Plan says."""

from __future__ import annotations

import pytest

from hookpipe.runtime.channels import Call, Counters
from hookpipe.runtime.dispatch import compile_phase, guard_source
from hookpipe.runtime.errors import HookFailure


def _call(log: list[str], name: str, unit: int = 0, start: int = 1, every: int = 1, at_end: bool = False,
          fail: bool = False) -> Call:
    def fn(arg: object) -> None:
        if fail:
            raise ValueError(name)
        log.append(name)

    return Call(fn, unit=unit, start=start, every=every, at_end=at_end, always=False, hook=name, callback="on_step_end",
                span=None)


def test_compiled_phase_fires_exactly_like_call_fires() -> None:
    log: list[str] = []
    calls = (
        _call(log, "a"),
        _call(log, "b", unit=1, start=3, every=3),
        _call(log, "c", unit=1, start=3, every=3),  # shares b's test
        _call(log, "d"),
        _call(log, "e", unit=1, start=5, every=2, at_end=True),
        _call(log, "f", unit=2, start=2, every=2),
    )
    counters = Counters()
    run = compile_phase(calls, counters.counts, counters.lasts, counters.current_step, "step.after")
    for step in range(1, 13):
        counters.counts[1] = step
        counters.counts[2] = step // 2
        counters.lasts[1] = step == 12
        log.clear()
        run(None)
        assert log == [c.hook for c in calls if c.fires(counters)], step


def test_a_failing_call_is_named_in_the_hook_failure() -> None:
    log: list[str] = []
    calls = (_call(log, "ok"), _call(log, "bad", unit=1, start=1, every=1, fail=True), _call(log, "never"))
    counters = Counters()
    counters.global_step = 6
    counters.counts[1] = 7
    run = compile_phase(calls, counters.counts, counters.lasts, counters.current_step, "step.after")
    with pytest.raises(HookFailure) as info:
        run(None)
    assert info.value.hook == "bad" and info.value.global_step == 6
    assert isinstance(info.value.__cause__, ValueError)
    assert log == ["ok"]


def test_guard_source_of_every_form() -> None:
    assert guard_source(0, 1, 1, False) is None
    assert guard_source(1, 1, 1, False) == "(counts[1] >= 1)"
    assert guard_source(3, 2, 2, True) == "(counts[3] >= 2 and (counts[3] - 2) % 2 == 0) or lasts[3]"
