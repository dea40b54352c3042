"""Which hooks fire at which step: computed from a Plan's guards alone.

This is the reference the runtime is tested against. Counting follows
``docs/reference.md`` (``batches`` in a step count the epoch's, from 1) and
accelerate's gradient accumulation: inside an epoch, gradients sync
(an optimizer update happens) on local batch ``i`` when ``(i + 1) % G == 0`` or
``i`` is the epoch's last batch; the run stops after ``steps`` batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterator

from hookpipe.compiler.catalog import BUILTINS, seed_hook_type
from hookpipe.compiler.loop import step_phase_order
from hookpipe.compiler.plan import PhasePlan, Plan, PlanEntry
from hookpipe.compiler.run_values import count_updates

__all__ = ["Firing", "simulate", "update_only"]

_INNER = step_phase_order()


@dataclass(frozen=True, slots=True)
class Firing:
    """One callback run: ``step``/``epoch`` are 0-based ids, None outside their scope."""

    step: int | None
    epoch: int | None
    scope: str
    phase: str
    hook: str
    main_only: bool

    def to_json(self) -> dict[str, object]:
        return {"step": self.step, "epoch": self.epoch, "phase": f"{self.scope}.{self.phase}",
                "hook": self.hook, "main_only": self.main_only}


def simulate(plan: Plan, steps: int, steps_per_epoch: int, grad_accumulation: int | None = None,
             main: bool = True, acting: bool = False, window: int | None = None) -> list[Firing]:
    """Every callback a run of ``steps`` batches, ``steps_per_epoch`` per epoch, would fire, in order.

    With ``acting``, what acts rather than every callback the runtime calls: a built-in
    that acts only on optimizer updates (``HookType.update_only``: ``grad_clip``,
    ``optimizer``, ``ema``) is left out of the steps that end without one, where its
    callback returns at once, and a RoboOrchard Lab hook with a step frequency of its
    own (``SaveCheckpoint``'s ``save_step_freq``) is left out of the steps it skips. That
    is what ``explain --steps`` shows.

    With ``window``, only what fires during the first ``window`` steps of that run:
    ``explain --steps 30`` on a file whose run is 135 steps long must not show the
    run's end at step 30. The whole run still decides which step and epoch are the
    last (``at end``) and where epochs end; an epoch that ends after the window has
    no ``epoch.after``, and ``loop.after`` is listed only when the window reaches the
    run's end. Steps past the window are not visited, so a long run costs nothing more.

    Example:
        >>> from hookpipe.compiler import compile_text
        >>> plan = compile_text('''trainer { max_step = 4 }
        ... hook o = optimizer()
        ... loop { epoch { step { after { o every 2 steps } } } }''')
        >>> [f.step for f in simulate(plan, 4, 4)]
        [1, 3]
        >>> [f.step for f in simulate(plan, 4, 4, window=2)]  # the first 2 of the 4 steps
        [1]
    """
    if steps <= 0 or steps_per_epoch <= 0:
        return []
    shown = steps if window is None else max(0, min(window, steps))
    accumulation = grad_accumulation or int(plan.trainer.get("grad_accumulation") or 1)
    phases = {(p.scope, p.phase): p for p in plan.phases}
    epochs = -(-steps // steps_per_epoch)
    out: list[Firing] = []
    idle = update_only(plan) if acting else frozenset()
    own = _own_step_frequencies(plan) if acting else {}
    out += _fire(phases["loop", "before"], None, None, 1, False, main)
    total_updates = count_updates(steps, steps_per_epoch, accumulation)  # known: both lengths are given
    updates = 0
    for epoch in range(epochs):
        first = epoch * steps_per_epoch
        if first >= shown:
            break  # this epoch starts after the window
        last_epoch = epoch == epochs - 1
        end = min(first + steps_per_epoch, steps)
        out += _fire(phases["epoch", "before"], None, epoch, epoch + 1, last_epoch, main)
        for step in range(first, min(end, shown)):
            local = step - first
            sync = (local + 1) % accumulation == 0 or local == steps_per_epoch - 1
            updates += sync
            for scope, phase in _INNER:
                fires = partial(_acts, main=main, idle=idle, step=step, sync=sync, updates=updates, steps=steps,
                                total_updates=total_updates, own=own.get(f"{scope}.{phase}", {}),
                                batch=(local + 1, local == steps_per_epoch - 1))
                for entry in firing(phases[scope, phase].entries, fires):
                    out.append(Firing(step, epoch, scope, phase, entry.hook, entry.main_only))
        if end <= shown:  # the epoch ended within the window
            out += _fire(phases["epoch", "after"], None, epoch, epoch + 1, last_epoch, main)
    if shown == steps:
        out += _fire(phases["loop", "after"], None, None, 1, False, main)
    return out


def update_only(plan: Plan) -> frozenset[str]:
    """The hooks of ``plan`` whose type (built-in or a seed hook type) acts only on optimizer updates."""
    found = set()
    for spec in plan.hooks:
        kind = BUILTINS.get(spec.type) if spec.builtin else seed_hook_type(spec.type)
        if kind is not None and kind.update_only:
            found.add(spec.name)
    return frozenset(found)


def _own_step_frequencies(plan: Plan) -> dict[str, dict[str, int]]:
    """``"scope.phase" -> {hook: N}`` for the seed hooks that act only every N steps there (their own argument)."""
    out: dict[str, dict[str, int]] = {}
    for spec in plan.hooks:
        found = None if spec.builtin else seed_hook_type(spec.type)
        for where, arg in found.step_frequency if found is not None else ():
            freq = spec.args.get(arg)
            if isinstance(freq, int) and not isinstance(freq, bool) and freq >= 1:
                out.setdefault(where, {})[spec.name] = freq
    return out


def _acts(entry: PlanEntry, *, main: bool, idle: frozenset[str], step: int, sync: bool, updates: int, steps: int,
          total_updates: int | None, own: dict[str, int], batch: tuple[int, bool]) -> bool:
    if entry.main_only and not main or not sync and entry.hook in idle:
        return False
    if (step + 1) % own.get(entry.hook, 1):  # the seed hook's own test: (global_step_id + 1) % freq == 0
        return False
    return _step_fires(entry, step, sync, updates, steps, total_updates, batch)


def _step_fires(entry: PlanEntry, step: int, sync: bool, updates: int, steps: int, total_updates: int | None,
                batch: tuple[int, bool]) -> bool:
    """``batch``: the step's batch number in its epoch (from 1) and whether it is the epoch's last."""
    guard = entry.guard
    if guard.unit == "update":
        return sync and guard.fires(updates, is_last=updates == total_updates)
    if guard.unit == "batch":
        return guard.fires(batch[0], is_last=batch[1])
    return guard.fires(step + 1, is_last=step == steps - 1)


def firing(entries: tuple[PlanEntry, ...], fires: Callable[[PlanEntry], bool]) -> list[PlanEntry]:
    """The entries that run, in order, given which ordinary entries ``fires``.

    A bracket runs (its entry, for its enter and exit) only when something inside it
    fires: swapping weights in and out around nothing would be wasted work. The
    runtime (``hookpipe.runtime.plan.brackets``) does the same.
    """
    out: list[PlanEntry] = []
    for entry in entries:
        if entry.inner is not None:
            inner = firing(entry.inner, fires)
            if inner:
                out.append(entry)
                out += inner
        elif fires(entry):
            out.append(entry)
    return out


def _fire(phase: PhasePlan, step: int | None, epoch: int | None, count: int, is_last: bool,
          main: bool) -> Iterator[Firing]:
    def fires(entry: PlanEntry) -> bool:
        return (main or not entry.main_only) and entry.guard.fires(count, is_last=is_last)

    for entry in firing(phase.entries, fires):
        yield Firing(step, epoch, phase.scope, phase.phase, entry.hook, entry.main_only)
