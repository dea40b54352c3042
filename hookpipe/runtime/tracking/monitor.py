"""``monitor = "HOOK.METRIC"``: reading a hook's newest result, for early_stop and best checkpoints."""

from __future__ import annotations

from typing import Any

__all__ = ["monitored_value"]


def monitored_value(instances: Any, monitor: str) -> tuple[int, int, float] | None:
    """``(result index, completed steps, value)`` of the newest result of ``monitor``, or None.

    Raises:
        RuntimeError: the hook's newest result lacks the metric (names the keys it has).
    """
    hook, _, key = monitor.partition(".")
    history = getattr(instances.get(hook), "history", None)
    if not history:
        return None
    done, metrics = history[-1]
    if not metrics or key not in metrics:
        have = ", ".join(sorted(metrics or {})) or "none"
        raise RuntimeError(f"monitor {monitor!r}: hook {hook!r} returned no metric {key!r} (its metrics: {have})")
    return len(history) - 1, int(done), float(metrics[key])
