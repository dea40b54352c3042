"""The seed's channel through robo_orchard_core's public API only: every registration change is seen."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from robo_orchard_core.utils.hook import HookContext, HookContextChannel

from hookpipe.runtime.dispatch.channels import Channel, always, is_always, wrapped_callables

ROOT = Path(__file__).resolve().parents[2]
NO_ARG: Any = None  # the hooks here ignore their argument


def record(log: list[str], text: str, arg: Any) -> None:
    log.append(text)


def test_every_public_way_to_change_a_channel_changes_what_it_runs() -> None:
    log: list[str] = []
    ch = Channel("on_step")
    first = HookContext.from_callable(before=lambda a: log.append("first"))
    handle = ch.register(first)
    with ch.begin(NO_ARG):
        pass
    other: HookContextChannel[Any] = HookContextChannel("on_step")
    other.register(HookContext.from_callable(after=lambda a: log.append("merged")))
    ch += other
    with ch.begin(NO_ARG):
        pass
    handle()  # the handle, called, unregisters
    with ch.begin(NO_ARG):
        pass
    ch.unregister_all()
    with ch.begin(NO_ARG):
        pass
    assert log == ["first", "first", "merged", "merged"]
    assert ch.contexts == ()


def test_a_channel_that_runs_nothing_sees_a_hook_registered_inside_its_scope() -> None:
    """Empty channels skip their bookkeeping, yet a registration inside the body still counts, as in
    robo_orchard_core's own ``begin``, which reads the contexts again at exit."""
    log: list[str] = []
    ch = Channel("on_model_forward")
    arg = object()
    with ch.begin(arg) as entered:
        assert entered is arg
    with ch.begin(NO_ARG):
        ch.register(HookContext.from_callable(before=lambda a: log.append("before"),
                                              after=lambda a: log.append("after")))
    with ch.begin(NO_ARG):
        log.append("body")
    assert log == ["after", "before", "body", "after"]


def test_a_failure_in_the_scope_of_a_channel_that_runs_nothing_propagates_as_it_is() -> None:
    ch = Channel("on_model_backward")
    error = ValueError("from the body")
    for _ in range(2):  # the first entry sees the channel is empty; the second takes the short way
        try:
            with ch.begin(NO_ARG):
                raise error
        except ValueError as caught:
            assert caught is error
        else:
            raise AssertionError("the failure was swallowed")


def test_a_context_whose_function_cannot_be_named_runs_through_its_own_method() -> None:
    log: list[str] = []
    ctx = HookContext.from_callable(before=functools.partial(record, log, "partial"))
    before, after = wrapped_callables(ctx)
    assert before == ctx.before and after == ctx.after  # a partial has no source: the bound methods
    ch = Channel("on_batch")
    ch.register(ctx)
    with ch.begin(NO_ARG):
        pass
    assert log == ["partial"]


def test_a_function_given_to_from_callable_is_called_directly_and_keeps_its_always_mark() -> None:
    @always
    def cleanup(arg: Any) -> None: ...

    ctx = HookContext.from_callable(after=cleanup)
    assert wrapped_callables(ctx) == (None, cleanup)
    assert is_always(ctx) and not is_always(HookContext.from_callable(after=lambda a: None))


def test_the_runtime_reads_no_private_attribute_of_robo_orchard_cores_hooks() -> None:
    names = ("_context_handlers", "_handlers", "_before", "_after", "_update_items")
    pattern = re.compile(r"\.(" + "|".join(names) + r")\b")
    hits = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "hookpipe" / "runtime").rglob("*.py"))
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert hits == []
