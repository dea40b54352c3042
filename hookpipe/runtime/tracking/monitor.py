"""``monitor = "HOOK.METRIC"``: reading a hook's results, for early_stop, lr_plateau and best checkpoints."""

from __future__ import annotations

from typing import Any

__all__ = ["monitored_results", "monitored_value"]


def monitored_value(instances: Any, monitor: str) -> tuple[int, int, float] | None:
    """``(result index, completed steps, value)`` of the newest result of ``monitor``, or None.

    Raises:
        RuntimeError: the hook's newest result lacks the metric (names the keys it has).
    """
    hook, _, _ = monitor.partition(".")
    history = getattr(instances.get(hook), "history", None)
    if not history:
        return None
    return _result(history, len(history) - 1, monitor)


def monitored_results(instances: Any, monitor: str, seen: int) -> list[tuple[int, int, float]]:
    """Every result of ``monitor`` after the one at index ``seen`` (-1: all), oldest first.

    A hook that judges results (early_stop, lr_plateau) may fire less often than the
    validation it watches (``epoch.after`` against a validation every update); it
    judges each result the validation produced since, in order, as Lightning's
    callbacks do on each validation end, so how often it fires changes nothing.

    Raises:
        RuntimeError: one of those results lacks the metric (names the keys it has).
    """
    hook, _, _ = monitor.partition(".")
    history = getattr(instances.get(hook), "history", None)
    if not history:
        return []
    return [_result(history, index, monitor) for index in range(max(seen + 1, 0), len(history))]


def _result(history: Any, index: int, monitor: str) -> tuple[int, int, float]:
    hook, _, key = monitor.partition(".")
    done, metrics = history[index]
    if not metrics or key not in metrics:
        have = ", ".join(sorted(metrics or {})) or "none"
        raise RuntimeError(f"monitor {monitor!r}: hook {hook!r} returned no metric {key!r} (its metrics: {have})")
    return index, int(done), float(metrics[key])
