"""``--set key=value`` overrides, applied to a Plan's data before anything resolves.

Keys are ``trainer.<key>`` or ``hook.<name>.<arg>`` (nested table keys may follow:
``hook.h.opts.depth``); below a call, a key names its argument
(``trainer.optimizer.lr`` is the ``lr`` of ``optimizer = "torch.optim.AdamW"(lr = ...)``).
Unknown trainer settings and built-in hook arguments are refused with the nearest
known name. Values are read like ``.pipe`` literals: integers (``10_000``),
floats, ``true``/``false``/``none``, JSON lists/tables/quoted strings; anything else
is a plain string (so ``trainer.optimizer=torch.optim.SGD`` is an import path).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any, Iterable, Mapping

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.compiler.plan import HookSpec, Plan
from hookpipe.compiler.settings import TrainerSettings
from hookpipe.compiler.suggest import did_you_mean
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
            _known(key, rest.split(".")[0], TrainerSettings.model_fields, "trainer setting", "trainer.")
            _set_path(trainer, rest.split("."), value, key)
        elif head == "hook" and rest.count(".") >= 1:
            name, _, path = rest.partition(".")
            if name not in hooks:
                known = ", ".join(sorted(hooks)) or "none"
                hint = did_you_mean(name, hooks)
                raise PlanResolveError(f"--set {key}: no hook named {name!r}"
                                       + (f"; {_dotted(hint, 'hook.', '.' + path)}" if hint else "")
                                       + f" (hooks: {known})")
            _check_hook_arg(key, hooks[name], path.split(".")[0], path)
            _set_path(new_args[name], path.split("."), value, key)
        else:
            raise PlanResolveError(f"--set {key}: keys look like trainer.KEY or hook.NAME.ARG")
    new_hooks = tuple(dataclasses.replace(h, args=new_args[h.name]) for h in plan.hooks)
    return dataclasses.replace(plan, trainer=trainer, hooks=new_hooks, _hash="")


def _known(key: str, name: str, fields: Any, what: str, prefix: str, suffix: str = "") -> None:
    if name in fields:
        return
    hint = did_you_mean(name, fields)
    help_text = _dotted(hint, prefix, suffix) if hint else f"known: {', '.join(fields)}"
    raise PlanResolveError(f"--set {key}: unknown {what} `{name}`; {help_text}")


def _check_hook_arg(key: str, hook: HookSpec, arg: str, path: str) -> None:
    builtin = BUILTINS.get(hook.type) if hook.builtin else None
    if builtin is not None:  # a custom hook's arguments are checked when it is built
        rest = path[len(arg):]
        _known(key, arg, builtin.schema.model_fields, f"argument of {builtin.name}", f"hook.{hook.name}.", rest)


def _dotted(hint: str, prefix: str, suffix: str) -> str:
    """``did you mean `x`?`` with the whole key: ``did you mean `trainer.x`?``."""
    return hint.replace("`", f"`{prefix}", 1).replace("`?", f"{suffix}`?")


def _set_path(target: dict[str, Any], path: list[str], value: Any, key: str) -> None:
    for part in path[:-1]:
        if "$call" in target and part == "args":
            target = target.setdefault("args", {})
            continue
        nxt = _args_of(target).get(part)
        if not isinstance(nxt, dict):
            raise PlanResolveError(f"--set {key}: {part!r} is not a table")
        target = nxt
    _args_of(target)[path[-1]] = value


def _args_of(table: dict[str, Any]) -> dict[str, Any]:
    """Below a call (``{"$call": ..., "args": ...}``) a key names one of its arguments."""
    return table.setdefault("args", {}) if "$call" in table else table
