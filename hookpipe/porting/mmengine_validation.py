"""When MMEngine's training loop validates, as ``evaluate`` attachments (``every N epochs from K until L and at end``).

``EpochBasedTrainLoop`` validates after epoch ``e`` (1-based) when
``e >= val_begin and (e % interval == 0 or e == max_epochs)``; ``IterBasedTrainLoop``
the same after iteration ``e`` with ``max_iters``. The interval for ``e`` is
``dynamic_intervals``' entry for ``e + 1`` (``bisect``), so a milestone ``m`` takes
effect at ``e = m - 1``. The last epoch is a firing whatever the length, so the
attachment that covers it says ``and at end`` (unless it fires every epoch from
``val_begin`` anyway): a length changed with ``--set trainer.max_epoch=N`` still
validates at its end, as MMEngine would with ``max_epochs=N``.
"""

from __future__ import annotations

import bisect
from typing import Any

from hookpipe.compiler.loop import every


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
