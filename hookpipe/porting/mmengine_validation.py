"""When MMEngine's training loop validates, as ``evaluate`` attachments (``every N epochs from K until L and at end``),
and what runs around it (``layout``: each phase block in MMEngine's order, the validation in it).

``EpochBasedTrainLoop`` validates after epoch ``e`` (1-based) when
``e >= val_begin and (e % interval == 0 or e == max_epochs)``; ``IterBasedTrainLoop``
the same after iteration ``e`` with ``max_iters``. The interval for ``e`` is
``dynamic_intervals``' entry for ``e + 1`` (``bisect``), so a milestone ``m`` takes
effect at ``e = m - 1``. The last epoch is a firing whatever the length, so the
attachment that covers it says ``and at end`` (unless it fires every epoch from
``val_begin`` anyway): a length changed with ``--set trainer.max_epoch=N`` still
validates at its end, as MMEngine would with ``max_epochs=N``.

MMEngine validates after all of the epoch's ``after_train_epoch`` hooks (the
iteration's ``after_train_iter`` hooks), running ``before_val_epoch`` hooks first and
``after_val_epoch`` hooks last; ``layout`` writes that order, with ``evaluate`` moved
right before the first checkpoint (docs/import.md, "Around the validation").
"""

from __future__ import annotations

import bisect
from typing import Any

from hookpipe.compiler.loop import every
from hookpipe.porting.mmengine_hooks import Ported, attachment
from hookpipe.porting.model import Attachment, Bracket, Item, Port


def _loop_values(loop: dict[str, Any], by_epoch: bool) -> tuple[Any, int, list[int], list[int]]:
    """The run's length (as the config gives it), ``val_begin``, and the interval milestones and intervals."""
    last = loop.get("max_epochs" if by_epoch else "max_iters")
    interval = loop.get("val_interval", 1)
    begin = loop.get("val_begin", 1)
    if not isinstance(interval, int) or interval < 1:
        interval = 1
    if not isinstance(begin, int) or begin < 1:
        begin = 1
    milestones, intervals = [0], [interval]
    for pair in loop.get("dynamic_intervals") or []:
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(v, int) for v in pair):
            milestones.append(pair[0])
            intervals.append(max(1, pair[1]))
    return last, begin, milestones, intervals


def val_firings(loop: dict[str, Any], by_epoch: bool) -> list[str]:
    """The modifiers of one attachment per validation interval, firing where MMEngine's loop validates."""
    unit = "epoch" if by_epoch else "step"
    last, begin, milestones, intervals = _loop_values(loop, by_epoch)
    if not isinstance(last, int) or last < 1:
        return [_final(intervals[0], begin, begin, unit)]
    if begin > last:  # MMEngine never validates: firing from val_begin on, at no end (val_note marks it)
        n = intervals[bisect.bisect(milestones, begin + 1) - 1]
        first = -(-begin // n) * n
        return [every(n, unit) + (f" from {first}" if first != n else "")]
    out = []
    # segment i covers the e whose interval lookup (bisect on e + 1) lands on entry i
    for i, n in enumerate(intervals):
        start = max(begin, 1 if i == 0 else milestones[i] - 1)
        end = last if i + 1 == len(intervals) else min(last, milestones[i + 1] - 2)
        if start > end:
            continue
        if end == last:
            out.append(_final(n, start, begin, unit))
            break
        first = -(-start // n) * n
        if first <= end:
            out.append(every(n, unit) + (f" from {first}" if first != n else "") + f" until {end}")
    return out


def _final(n: int, start: int, begin: int, unit: str) -> str:
    """The attachment of the interval that reaches the run's end: ``and at end`` unless every one from
    ``val_begin`` fires (then the end, at any length from ``val_begin``, is one of them)."""
    first = -(-start // n) * n
    mods = every(n, unit) + (f" from {first}" if first != n else "")
    return mods if n == 1 and start == begin else mods + " and at end"


def val_note(loop: dict[str, Any], by_epoch: bool) -> str | None:
    """The mark of a validation MMEngine never runs: ``val_begin`` past the run's end."""
    unit = "epoch" if by_epoch else "iteration"
    last, begin, _, _ = _loop_values(loop, by_epoch)
    if isinstance(last, int) and begin > last:
        return (f"train_cfg.val_begin {begin} is after the last {unit} ({last}): MMEngine never validates this run; "
                "delete evaluate, or keep it for a longer run")
    return None


def layout(port: Port, ported: list[Ported], head: list[Item], evaluate: str | None, loop: dict[str, Any],
            by_epoch: bool) -> None:
    """Each phase block in MMEngine's order: by priority, ties in registration order (``order``).

    ``step.after`` opens with ``head`` (clipping, ``optimize``: MMEngine updates inside
    ``train_step``, before any ``after_train_iter`` hook); ``EMAHook``'s update takes its
    place among the others by priority. The validation goes where its loop runs it
    (``_around_validation``), with its ``before_val_epoch`` and ``after_val_epoch`` hooks.
    """
    ported = sorted(ported, key=lambda p: (p.priority, p.order))

    def placed(placement: str) -> list[Ported]:
        return [p for p in ported if p.placement == placement]

    for p in placed("epoch.before"):
        port.attach(("loop", "epoch"), "before", attachment(p))
    steps, ends = placed("step.after"), placed("epoch.after")
    if not by_epoch:  # one pass over the data is no MMEngine epoch: only unconditional epoch-end hooks
        ends = [p for p in ends if p.modifiers == ""]
    step_items: list[Item] = [*head, *(attachment(p) for p in steps)]
    end_items: list[Item] = [attachment(p) for p in ends]
    if evaluate is not None:
        ema = next((p for p in ported if p.kind == "EMAHook"), None)
        around = _around_validation(port, ends if by_epoch else steps, placed("before_val"), ema, evaluate, loop,
                                    by_epoch)
        if by_epoch:
            end_items = around
        else:
            step_items = [*head, *around]
        for p in placed("val_after"):
            port.attach_validation(evaluate, ("validation",), "after", attachment(p))
        for p in placed("val_batch"):
            port.attach_validation(evaluate, ("validation", "batch"), "after", attachment(p))
    port.phases[(("loop", "epoch", "step"), "after")] = step_items
    if end_items:
        port.phases[(("loop", "epoch"), "after")] = end_items
    for p in placed("loop.after"):
        port.attach(("loop",), "after", attachment(p))


def _around_validation(port: Port, trained: list[Ported], before_val: list[Ported], ema: Ported | None,
                       evaluate: str, loop: dict[str, Any], by_epoch: bool) -> list[Item]:
    """The phase MMEngine's loop validates after (``epoch.after``, or ``step.after`` for iterations), validation in.

    MMEngine runs every ``after_train_epoch`` (``after_train_iter``) hook, then the
    validation: its ``before_val_epoch`` hooks, the evaluation, its ``after_val_epoch``
    hooks. ``evaluate`` goes right before the first checkpoint instead (the checkpoint
    then holds this validation's metrics); a hook that follows the checkpoint by
    priority follows the validation here, and is marked. ``log()`` reads the metrics
    ``evaluate`` writes, so a logger firing there goes after it (effect rule); its
    records are the same (the validation's record is written in the validation's own
    ``after``, at the same step). A ``before_val_epoch`` hook runs in the validation's
    own ``before``, which fires exactly when it does; one MMEngine runs before
    ``EMAHook``'s swap (by priority) goes before the ``with swap`` bracket instead,
    with the evaluation's frequencies (the validation's ``before`` runs inside it).
    """
    unit = "epoch" if by_epoch else "iter"
    firings = val_firings(loop, by_epoch)
    val_mark = "; ".join(filter(None, [*loop.pop("_notes"), val_note(loop, by_epoch)])) or None
    evaluations = [Attachment(evaluate, mods, val_mark) for mods in firings]
    swap = next((h for h in port.hooks if h.callee == "ema_swap"), None)
    block: list[Item] = []
    for p in before_val:
        if swap is not None and ema is not None and (p.priority, p.order) < (ema.priority, ema.order):
            block += [Attachment(p.hook, mods) for mods in firings]
            _note(port, p.hook, f"its before_val_epoch runs before EMAHook swaps in the average (priority "
                                f"{p.priority} < {ema.priority}): here with evaluate's frequencies, before the swap "
                                f"(the class's on_{'epoch' if by_epoch else 'step'}_end(args))")
        else:
            port.attach_validation(evaluate, ("validation",), "before", attachment(p))
            _note(port, p.hook, "its before_val_epoch is the class's on_validation_begin(args), in evaluate's own "
                                "before (it fires exactly when the validation does)")
    block += [Bracket(swap.name, evaluations)] if swap else evaluations
    cut = next((i for i, p in enumerate(trained) if p.kind == "CheckpointHook"), len(trained))
    first = [p for p in trained[:cut] if p.kind != "LoggerHook"]
    then = [p for p in trained[:cut] if p.kind == "LoggerHook"] + trained[cut:]
    if ema in then and swap is not None:
        # the swap reads the average: its update cannot follow the validation (effect rule)
        then.remove(ema)
        first.append(ema)
        saved = next(p for p in trained if p.kind == "CheckpointHook")
        _note(port, ema.hook, f"EMAHook priority {ema.priority} runs after the checkpoint (priority {saved.priority}) "
                              "in MMEngine's after_train_iter, so MMEngine's checkpoint holds the average before this "
                              "iteration's update; here ema must run before evaluate's swap, which precedes that "
                              "checkpoint: it holds the updated average (resuming from it goes on from there)")
    for p in then:
        if p.kind not in ("CheckpointHook", "LoggerHook", "IterTimerHook"):
            _note(port, p.hook, f"MMEngine runs its after_train_{unit} before validating (after the checkpoint, by "
                                "priority); here evaluate precedes the checkpoint, so this runs after the validation: "
                                "move it above evaluate if it must run first")
    return [*(attachment(p) for p in first), *block, *(attachment(p) for p in then)]


def _note(port: Port, hook: str, note: str) -> None:
    """Add ``note`` to the mark of declared hook ``hook``."""
    declared = next(h for h in port.hooks if h.name == hook)
    declared.note = "; ".join(filter(None, [declared.note, note]))
