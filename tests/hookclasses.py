"""Hook classes that declare their own effects and ``collective``, for ``--resolve`` tests.

Importable without torch: the compiler side reads only their attributes.
"""

from __future__ import annotations

from typing import Any


class LateClipper:
    """Writes gradients, said only on the class: must run before the optimizer."""

    effects = {"on_step_end": {"writes": ("grads",)}}

    def on_step_end(self, args: Any) -> None: ...


class PerCallbackAverage:
    """Writes metrics only at the end of the run; during steps it keeps an average."""

    effects = {
        "on_step_end": {"reads": ("params",), "writes": ("ema",)},
        "on_loop_end": {"reads": ("ema",), "writes": ("metrics",)},
    }

    def on_step_end(self, args: Any) -> None: ...

    def on_loop_end(self, args: Any) -> None: ...


class WholeHookAverage:
    """The same hook with effects for the whole hook (every callback)."""

    effects = {"reads": ("params", "ema"), "writes": ("ema", "metrics")}

    def on_step_end(self, args: Any) -> None: ...

    def on_loop_end(self, args: Any) -> None: ...


class Gather:
    """All-gathers something: every process must call it."""

    collective = True

    def on_step_end(self, args: Any) -> None: ...


class Misspelt:
    effects = {"on_step_ned": {"reads": ("params",)}}

    def on_step_end(self, args: Any) -> None: ...
