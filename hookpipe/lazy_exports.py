"""Package attributes imported on first use (PEP 562).

``import hookpipe`` and ``import hookpipe.lint`` must stay cheap: a one-file lint
should not pay for the compiler or the rule set before it needs them, yet the
public names stay where users import them from.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, where: Mapping[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``where`` comes from its module on first use.

    Example:
        >>> ns: dict[str, Any] = {}
        >>> getattr_, dir_ = lazy_exports("pkg", {"dedent": "textwrap"}, ns)
        >>> getattr_("dedent")("  x") == "x" and "dedent" in ns
        True
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # the next access is a plain global
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *where])

    return __getattr__, __dir__
