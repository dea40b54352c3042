"""Compiled phase functions: same calls, same order, same guards as the Plan says."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookpipe.compiler.plan import UNITS, Guard
from hookpipe.runtime.dispatch.channels import Call, Counters
from hookpipe.runtime.dispatch.phases import compile_phase, guard_source
from hookpipe.runtime.errors import HookFailure

ALWAYS = Guard()


def _call(log: list[str], name: str, guard: Guard = ALWAYS, fail: bool = False) -> Call:
    def fn(arg: object) -> None:
        if fail:
            raise ValueError(name)
        log.append(name)

    return Call(fn, guard=guard, always=False, hook=name, callback="on_step_end", span=None)


def test_compiled_phase_fires_exactly_like_call_fires() -> None:
    log: list[str] = []
    calls = (
        _call(log, "a"),
        _call(log, "b", Guard("step", 3, 3)),
        _call(log, "c", Guard("step", 3, 3)),  # shares b's test
        _call(log, "d"),
        _call(log, "e", Guard("step", 2, 5, at_end=True)),
        _call(log, "f", Guard("update", 2, 2)),
    )
    counters = Counters()
    run = compile_phase(calls, counters, "step.after")
    fired = []
    for step in range(1, 13):
        counters.step = step
        counters.update = step // 2
        counters.last_step = step == 12
        log.clear()
        run(None)
        assert log == [c.hook for c in calls if c.fires(counters)], step
        fired.append(list(log))
    assert fired[2] == ["a", "b", "c", "d"]  # step 3
    assert fired[4] == ["a", "d", "e", "f"]  # step 5: e first fires; update 2 (5 // 2) fires f
    assert fired[11] == ["a", "b", "c", "d", "e", "f"]  # step 12: the last, so `at end` fires e


guards = st.builds(
    Guard,
    unit=st.sampled_from((None, *UNITS)),
    every=st.integers(1, 50),
    start=st.integers(1, 60),
    at_end=st.booleans(),
    until=st.none() | st.integers(1, 200),
)


@settings(max_examples=300, deadline=None)
@given(
    phase=st.lists(guards, min_size=1, max_size=6),
    values=st.fixed_dictionaries({u: st.integers(0, 200) for u in UNITS}),
    lasts=st.fixed_dictionaries({u: st.booleans() for u in UNITS}),
)
def test_generated_dispatch_agrees_with_guard_fires(phase: list[Guard], values: dict[str, int],
                                                    lasts: dict[str, bool]) -> None:
    """The compiled text and ``Guard.fires`` are two forms of one definition: they must agree."""
    log: list[str] = []
    calls = tuple(_call(log, f"h{i}", g) for i, g in enumerate(phase))
    counters = Counters()
    for unit in UNITS:
        setattr(counters, unit, values[unit])
        setattr(counters, f"last_{unit}", lasts[unit])
    compile_phase(calls, counters, "step.after")(None)
    expected = [f"h{i}" for i, g in enumerate(phase)
                if g.unit is None or g.fires(values[g.unit], is_last=lasts[g.unit])]
    assert log == expected


def test_a_failing_call_is_named_in_the_hook_failure() -> None:
    log: list[str] = []
    calls = (_call(log, "ok"), _call(log, "bad", Guard("step"), fail=True), _call(log, "never"))
    counters = Counters()
    counters.global_step = 6
    counters.step = 7
    run = compile_phase(calls, counters, "step.after")
    with pytest.raises(HookFailure) as info:
        run(None)
    assert info.value.hook == "bad" and info.value.global_step == 6
    assert isinstance(info.value.__cause__, ValueError)
    assert log == ["ok"]


def test_guard_source_of_every_form() -> None:
    assert guard_source(Guard()) is None
    assert guard_source(Guard("step")) == "(c.step >= 1)"
    assert guard_source(Guard("epoch", 2, 2, True)) == "(c.epoch >= 2 and (c.epoch - 2) % 2 == 0) or c.last_epoch"


def test_a_call_that_marks_its_position_finds_itself_in_the_counters() -> None:
    seen: list[object] = []
    counters = Counters()

    def fn(arg: object) -> None:
        seen.append(counters.current)

    calls = (Call(fn, guard=Guard(), always=False, hook="a", callback="on_step_end", span=None, marks_position=True),
             Call(fn, guard=Guard(), always=False, hook="b", callback="on_step_end", span=None),
             Call(fn, guard=Guard(), always=False, hook="c", callback="on_step_end", span=None, marks_position=True))
    compile_phase(calls, counters, "step.after")(None)
    assert seen == [calls[0], calls[0], calls[2]]  # b does not record a position, so it costs no store


def test_counters_snapshot_keeps_the_checkpoint_layout() -> None:
    counters = Counters()
    counters.step, counters.update, counters.epoch = 7, 3, 2
    counters.last_update = True
    counters.global_step = 6
    counters.batch, counters.last_batch = 4, True
    snap = counters.snapshot()
    assert snap == {"counts": [0, 7, 3, 2], "lasts": [False, False, True, False], "global_step": 6,
                    "batch": [4, True]}
    again = Counters()
    again.restore(snap)
    assert (again.step, again.update, again.epoch, again.last_update, again.global_step) == (7, 3, 2, True, 6)
    assert (again.batch, again.last_batch) == (4, True)
    # A checkpoint of an earlier version has no epoch batch count: it reads as none yet.
    older = Counters()
    older.batch = 9
    older.restore({key: value for key, value in snap.items() if key != "batch"})
    assert (older.batch, older.last_batch, older.step) == (0, False, 7)
