"""``hookpipe.perf``: pausing the garbage collector around start-up and hot paths, freezing a run's setup."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from hookpipe.perf import gc_paused, kept_for_good, kept_for_run


def _young_collections_after(pause: Any) -> tuple[list[int], int, bool]:
    """(generations collected by the first allocations after ``pause``, objects frozen, collector on after)."""
    collections: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    was_enabled = gc.isenabled()
    gc.enable()
    gc.collect()
    frozen_before = gc.get_freeze_count()
    try:
        try:
            with pause():
                assert not gc.isenabled()
                kept = [[i] for i in range(10 * gc.get_threshold()[0])]  # many young collections' worth
                gc.callbacks.append(note)  # from here: the pause's end and the first allocations after it
            enabled = gc.isenabled()
            scratch: list[list[int]] = [[] for _ in range(10)]  # far below one young collection's threshold
        finally:
            if note in gc.callbacks:
                gc.callbacks.remove(note)
        assert len(kept) and len(scratch)
        return collections, gc.get_freeze_count() - frozen_before, enabled
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()


def test_kept_for_good_freezes_start_up_objects_so_the_next_allocation_scans_none() -> None:
    collections, frozen, enabled = _young_collections_after(kept_for_good)
    assert enabled
    assert frozen >= 10 * gc.get_threshold()[0]
    assert collections == []


def test_gc_paused_alone_leaves_them_to_the_next_allocation() -> None:
    """The case ``kept_for_good`` exists for: a paused collector still counts allocations."""
    collections, frozen, enabled = _young_collections_after(gc_paused)
    assert enabled
    assert frozen == 0
    assert collections and collections[0] == 0


def test_kept_for_good_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with kept_for_good():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_kept_for_run_freezes_what_exists_for_the_block_and_unfreezes_after() -> None:
    gc.collect()
    assert gc.get_freeze_count() == 0
    setup = [[i] for i in range(1000)]  # the run's setup: alive for the whole block
    with kept_for_run():
        inside = gc.get_freeze_count()
        made = [[i] for i in range(1000)]  # the steps' own objects stay collectable
        frozen_during = gc.get_freeze_count()
    assert inside >= len(setup)
    assert frozen_during == inside  # what the block allocates is not frozen
    assert gc.get_freeze_count() == 0
    assert len(made) == 1000


def test_kept_for_run_unfreezes_when_the_block_fails() -> None:
    gc.collect()
    try:
        with kept_for_run():
            raise RuntimeError("a failing step")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0


def test_kept_for_run_a_reference_cycle_of_the_setup_is_freed_after_the_run() -> None:
    class Node:
        other: Any = None

    gc.collect()
    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    with kept_for_run():
        del a, b
        gc.collect()
        assert ref() is not None  # frozen: out of the collector's sight during the run
    gc.collect()
    assert ref() is None


def test_kept_for_run_leaves_a_process_that_manages_its_collector_alone() -> None:
    gc.collect()
    gc.disable()
    try:
        with kept_for_run():
            assert gc.get_freeze_count() == 0  # collector off: nothing frozen
    finally:
        gc.enable()
    keep = [[i] for i in range(100)]
    gc.freeze()  # frozen by someone else
    try:
        before = gc.get_freeze_count()
        with kept_for_run():
            pass
        assert gc.get_freeze_count() == before  # their freeze is not undone
        assert keep
    finally:
        gc.unfreeze()
