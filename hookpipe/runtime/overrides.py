"""``--set key=value`` overrides, applied to a Plan's data before anything resolves.

Keys are ``trainer.<key>`` or ``hook.<name>.<arg>`` (nested table keys may follow:
``hook.h.opts.depth``). Values are read like ``.pipe`` literals: integers (``10_000``),
floats, ``true``/``false``/``none``, JSON lists/tables/quoted strings; anything else
is a plain string (so ``trainer.optimizer=torch.optim.SGD`` is an import path);
``run.updates`` and the other run-time values stand for themselves.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any, Iterable, Mapping

from hookpipe.compiler.plan import Plan
from hookpipe.compiler.run_values import RUN_KEY, RUN_VALUES
from hookpipe.runtime.errors import PlanResolveError

__all__ = ["apply_overrides", "parse_override_value", "parse_sets"]

_INT = re.compile(r"^[+-]?\d[\d_]*$")
_FLOAT = re.compile(r"^[+-]?(\d[\d_]*)?(\.\d[\d_]*)?([eE][+-]?\d+)?$")


def parse_override_value(text: str) -> Any:
    """A ``--set`` value as a Plan JSON value.

    Example:
        >>> parse_override_value("1e-3"), parse_override_value("none"), parse_override_value("runs/x")
        (0.001, None, 'runs/x')
    """
    s = text.strip()
    lowered = s.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    if _INT.match(s):
        return int(s.replace("_", ""))
    if _FLOAT.match(s) and any(ch.isdigit() for ch in s):
        return float(s.replace("_", ""))
    if s.startswith("run.") and s[4:] in RUN_VALUES:  # a run-time value, as in the .pipe file
        return {RUN_KEY: s[4:]}
    if s[:1] in "[{\"":
        try:
            return json.loads(s)
        except ValueError as exc:
            raise PlanResolveError(f"cannot read override value {text!r}: {exc}") from None
    return s


def parse_sets(sets: Iterable[str]) -> dict[str, str]:
    """``["trainer.max_step=100", ...]`` as an ordered mapping (later wins)."""
    out: dict[str, str] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PlanResolveError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value
    return out


def apply_overrides(plan: Plan, overrides: Mapping[str, str]) -> Plan:
    """A new Plan with ``overrides`` applied; an unknown hook name is an error.

    Argument names and types are checked when the Plan resolves (built-in hooks by
    their catalog schema, the trainer by ``TrainerSettings``).

    Example:
        >>> apply_overrides(plan, {"trainer.max_step": "100"}).trainer["max_step"]  # doctest: +SKIP
        100
    """
    if not overrides:
        return plan
    trainer = copy.deepcopy(plan.trainer)
    hooks = {h.name: h for h in plan.hooks}
    new_args = {h.name: copy.deepcopy(h.args) for h in plan.hooks}
    for key, raw in overrides.items():
        value = parse_override_value(raw)
        head, _, rest = key.partition(".")
        if head == "trainer" and rest:
            _set_path(trainer, rest.split("."), value, key)
        elif head == "hook" and rest.count(".") >= 1:
            name, _, path = rest.partition(".")
            if name not in hooks:
                known = ", ".join(sorted(hooks)) or "none"
                raise PlanResolveError(f"--set {key}: no hook named {name!r} (hooks: {known})")
            _set_path(new_args[name], path.split("."), value, key)
        else:
            raise PlanResolveError(f"--set {key}: keys look like trainer.KEY or hook.NAME.ARG")
    new_hooks = tuple(dataclasses.replace(h, args=new_args[h.name]) for h in plan.hooks)
    return dataclasses.replace(plan, trainer=trainer, hooks=new_hooks, _hash="")


def _set_path(target: dict[str, Any], path: list[str], value: Any, key: str) -> None:
    for part in path[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            raise PlanResolveError(f"--set {key}: {part!r} is not a table")
        target = nxt
    target[path[-1]] = value

