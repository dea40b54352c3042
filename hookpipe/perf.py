"""Keeping hot paths cheap: the garbage collector paused, or kept off what lives long.

Parsing and compiling allocate many small, long-lived objects (tokens, AST
nodes, graph entries) and no reference cycles worth collecting mid-way; CPython
would still run collections every few hundred allocations, each scanning the
growing heap. Pausing it for the duration roughly halves compile time on large
files. Nested use is safe; the previous state is restored.

A training run is the other case: what exists when its loop starts (modules,
the model, the compiled Plan, the trainer) lives until it ends, and a full
collection in the middle scans all of it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def kept_for_good() -> Iterator[None]:
    """The collector paused, and what was allocated meanwhile put out of its sight before it resumes.

    For start-up work whose objects live as long as the process (modules, the
    language server's protocol classes, a built parser). Frozen (``gc.freeze``)
    before the collector is back on: re-enabled first, its next allocation would
    scan every one of them once, and each later full collection again (about
    25 ms for pygls's and lsprotocol's import). Reference counting still frees
    what is dropped; only a reference cycle among them would stay.
    """
    with gc_paused():
        try:
            yield
        finally:
            gc.freeze()  # still paused: frozen before the collector is back on


@contextmanager
def kept_for_run() -> Iterator[None]:
    """What exists now put out of the collector's sight (``gc.freeze``) until the block ends.

    For a training loop: CPython runs a full collection once enough objects
    have survived since the last one, and setting a run up (imports, compiling
    the Plan, preparing the model) leaves hundreds of thousands, so the first
    full collection falls into the training steps: 120 ms of one 3,000-step run
    of the benchmark's small model, 40 µs a step. Frozen, they are skipped; the
    objects the steps make are collected as before. ``gc.unfreeze`` at the end
    returns them to the oldest generation, so a reference cycle among them is
    still freed, later. Nothing is done where the collector is off or something
    else has frozen objects (the process manages its collector itself; an
    unfreeze here would undo its freeze).
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
