"""``hookpipe.perf``: pausing the garbage collector around start-up and hot paths."""

from __future__ import annotations

import gc
from typing import Any

from hookpipe.perf import gc_paused, kept_for_good


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
