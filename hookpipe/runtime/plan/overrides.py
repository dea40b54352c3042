"""``--set key=value`` overrides, applied to a Plan's data before anything resolves.

Keys are ``trainer.<key>`` or ``hook.<name>.<arg>`` (nested table keys may follow:
``hook.h.opts.depth``); below a call, a key names its argument
(``trainer.optimizer.lr`` is the ``lr`` of ``optimizer = "torch.optim.AdamW"(lr = ...)``).
Unknown trainer settings and arguments of built-in and seed hook types
(``"hookpipe.runtime.SaveCheckpointConfig"``...) are refused with the nearest
known name. Values are read like ``.pipe`` literals: integers (``10_000``),
floats, ``true``/``false``/``none``, JSON lists/tables/quoted strings; anything else
is a plain string; ``run.updates`` and the other run-time values stand for
themselves.

Values are plain data only. The Plan stores a call as ``{"$call": ...}`` and some
slots (the trainer's factories, a built-in hook's callback) treat a string as an
import path; from the command line neither is accepted, so ``--set`` can never
name code to run: that is something only the ``.pipe`` file (which review sees)
can do. A hook argument is refused when its field can name code anywhere in its type
(``compiler.settings.can_name_code``: ``ObjectRef | None``, ``type[...]``,
``Callable``...), when it is ``class_type`` (how a RoboOrchard config names the class it
builds), and, for a hook class named in the file, when the class's own field or
``__init__`` parameter is typed so. Nothing the value names is ever imported to decide.
Numbers are bounded like the language's (64-bit integers, finite floats).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import typing
from typing import Any, Iterable, Mapping

from pydantic import BaseModel, ValidationError

from hookpipe.compiler.catalog import BUILTINS, seed_hook_type
from hookpipe.compiler.plan import HookSpec, Plan
from hookpipe.compiler.references import Referent, reference_problems
from hookpipe.compiler.run_values import RUN_KEY, RUN_VALUES
from hookpipe.compiler.settings import FACTORY_KEYS, TrainerSettings, can_name_code
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.dsl.transform import MAX_INT
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
        digits = s.replace("_", "")
        return _bounded(int(digits) if len(digits.lstrip("+-")) <= 19 else MAX_INT + 1, text)
    if _FLOAT.match(s) and any(ch.isdigit() for ch in s):
        return _bounded(float(s.replace("_", "")), text)
    if s.startswith("run.") and s[4:] in RUN_VALUES:  # a run-time value, as in the .pipe file
        return {RUN_KEY: s[4:]}
    if lowered.lstrip("+-") in ("nan", "inf", "infinity"):
        raise PlanResolveError(f"override value {_short(text)} is not a number a .pipe file can hold "
                               "(floats must be finite); write a finite number, or quote it (\"nan\") for the word")
    if s and s[0] in "[{\"":
        try:
            value = json.loads(s)
        except (ValueError, RecursionError) as exc:
            raise PlanResolveError(f"cannot read override value {_short(text)}: {str(exc)[:200]}") from None
        return _plain(value, text)
    return s


def _bounded(value: int | float, text: str) -> int | float:
    if isinstance(value, float) and not math.isfinite(value) or isinstance(value, int) and abs(value) > MAX_INT:
        raise PlanResolveError(f"override value {_short(text)} is out of range "
                               "(integers are 64-bit, floats must be finite)")
    return value


def _plain(value: Any, text: str) -> Any:
    """``value`` if it is plain data: no ``$``-keys (the Plan's encoding of calls), bounded numbers."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("$"):
                raise PlanResolveError(
                    f"override value {_short(text)}: `{key}` is not allowed; --set takes plain data (numbers, "
                    "strings, booleans, lists, tables): calls and references are written in the .pipe file")
            _plain(item, text)
    elif isinstance(value, list):
        for item in value:
            _plain(item, text)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _bounded(value, text)
    return value


def _check_trainer(trainer: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """A trainer setting an override made invalid is that override's error, not the file's."""
    set_keys = {key.split(".")[1]: key for key in overrides if key.startswith("trainer.")}
    if not set_keys:
        return
    try:
        TrainerSettings.model_validate(trainer)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc", ())
            key = set_keys.get(str(loc[0])) if loc else None
            if key is not None:
                got = overrides[key]
                shown = _short(got) if isinstance(got, str) else repr(got)[:60]
                message = str(err.get("msg", "invalid")).removeprefix("Value error, ")  # pydantic's wrapper
                raise PlanResolveError(f"--set {key}={shown}: {message}") from None


def _override_value(key: str, raw: Any) -> Any:
    """An override's value: a string as ``--set`` reads it, plain data from Python as it is, nothing else."""
    if isinstance(raw, str):
        return parse_override_value(raw)
    return _plain(_python_data(key, raw), repr(raw))


def _python_data(key: str, value: Any) -> Any:
    """``value`` as JSON data (tuples become lists) if it is plain data; an error naming ``key`` otherwise."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_python_data(key, item) for item in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _python_data(key, item) for k, item in value.items()}
    raise PlanResolveError(f"--set {key}: {type(value).__name__} is not plain data; an override's value is a string "
                           "(read as on the command line) or a number, a boolean, None, or a list or dict of them "
                           "(calls and objects are written in the .pipe file)")


def _short(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:50] + "...")


def parse_sets(sets: Iterable[str]) -> dict[str, str]:
    """``["trainer.max_step=100", ...]`` as an ordered mapping (later wins)."""
    out: dict[str, str] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PlanResolveError(f"--set expects key=value, got {item!r}")
        if not value.strip():
            raise PlanResolveError(f"--set {key.strip()}=: no value after `=`; write one (e.g. {key.strip()}=10), "
                                   "or none to unset it, or \"\" for an empty string")
        out[key.strip()] = value
    return out


def apply_overrides(plan: Plan, overrides: Mapping[str, Any]) -> Plan:
    """A new Plan with ``overrides`` applied; an unknown hook name is an error.

    A string value is read as ``--set`` reads it; from Python, plain data (a number,
    a boolean, None, a list or a dict of them) is also taken as it is.

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
        value = _override_value(key, raw)
        head, _, rest = key.partition(".")
        if head == "trainer" and rest:
            if rest in FACTORY_KEYS or any(part.startswith("$") for part in rest.split(".")):
                raise PlanResolveError(f"--set {key}: this names code (a factory, or how it is called); --set "
                                       "takes plain data only: change the factory in the .pipe file (its "
                                       "arguments may be set: trainer.KEY.args.NAME=VALUE)")
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
            if _names_code(hooks[name], path) or any(part.startswith("$") for part in path.split(".")):
                raise PlanResolveError(f"--set {key}: `{path}` of hook {name!r} names code; --set "
                                       "takes plain data only: edit the .pipe file instead")
            _check_hook_arg(key, hooks[name], path.split(".")[0], path)
            _set_path(new_args[name], path.split("."), value, key)
        else:
            raise PlanResolveError(f"--set {key}: keys look like trainer.KEY or hook.NAME.ARG")
    _check_trainer(trainer, overrides)
    new_hooks = tuple(dataclasses.replace(h, args=new_args[h.name]) for h in plan.hooks)
    _check_references(new_hooks, overrides)
    return dataclasses.replace(plan, trainer=trainer, hooks=new_hooks, _hash="")


def _check_references(hooks: tuple[HookSpec, ...], overrides: Mapping[str, Any]) -> None:
    """An argument set to name another hook must name one that fits, as ``check`` requires of the file.

    The compiler's rules (``compiler.references``): a typo in ``ema_swap``'s
    ``source`` would otherwise fail at its first swap, hours into the run.
    """
    # A hook type the catalog knows (a built-in, or a seed hook class) is named by it, as the compiler names it.
    kinds = {h.name: BUILTINS.get(h.type) if h.builtin else seed_hook_type(h.type) for h in hooks}
    referents = {h.name: Referent(kind.name if (kind := kinds[h.name]) is not None else None, h.type,
                                  h.effects.writes) for h in hooks}
    for h in hooks:
        if not h.builtin:
            continue
        for arg, problem in reference_problems(h.name, h.type, h.args, referents):
            if (key := f"hook.{h.name}.{arg}") in overrides:
                raise PlanResolveError(f"--set {key}: {problem.message}; {problem.help}")


def _known(key: str, name: str, fields: Any, what: str, prefix: str, suffix: str = "") -> None:
    if name in fields:
        return
    hint = did_you_mean(name, fields)
    help_text = _dotted(hint, prefix, suffix) if hint else f"known: {', '.join(fields)}"
    raise PlanResolveError(f"--set {key}: unknown {what} `{name}`; {help_text}")


#: Attachment modifiers: how often a hook fires is written where it is attached, not in its arguments.
_MODIFIERS = frozenset({"every", "from", "until", "on", "at_end"})


def _check_hook_arg(key: str, hook: HookSpec, arg: str, path: str) -> None:
    """An argument name a built-in or a seed hook type (``SaveCheckpointConfig``...) does not take is refused.

    The seed's configs ignore unknown fields, so a misspelt one (``step_eval_freqq``)
    would change nothing and say nothing; the file's own arguments are checked against
    the same fields (HP003), and so is ``--set``.
    """
    builtin = BUILTINS.get(hook.type) if hook.builtin else seed_hook_type(hook.type)
    if builtin is None:  # a custom hook's arguments are checked when it is built
        return
    fields = builtin.schema.model_fields
    if arg in _MODIFIERS and arg not in fields:
        raise PlanResolveError(f"--set {key}: `{arg}` is not an argument of hook {hook.name!r} but part of where it "
                               f"is attached (`{hook.name} every 2 steps` in a phase block): --set changes arguments "
                               "and trainer settings only; edit the attachment in the .pipe file")
    if not fields:
        raise PlanResolveError(f"--set {key}: {builtin.name} takes no arguments")
    _known(key, arg, fields, f"argument of {builtin.name}", f"hook.{hook.name}.", path[len(arg):])


def _dotted(hint: str, prefix: str, suffix: str) -> str:
    """``did you mean `x`?`` with the whole key: ``did you mean `trainer.x`?``."""
    return hint.replace("`", f"`{prefix}", 1).replace("`?", f"{suffix}`?")


def _names_code(spec: HookSpec, path: str) -> bool:
    """Whether a string at ``path`` of ``spec``'s arguments could be imported or called.

    The hook's own class (named in the reviewed file, so importing it is what the run
    does anyway) is inspected, never the value given on the command line.
    """
    parts = path.split(".")
    if "class_type" in parts:
        return True
    if _below_a_call(spec.args, parts):
        return False  # an argument of a call the file wrote: plain data, as trainer.KEY.NAME is
    if spec.builtin:
        hook_type = BUILTINS.get(spec.type)
        if hook_type is None:
            return False
        return _annotation_names_code(hook_type.schema, parts)
    from hookpipe.runtime.plan.resolve import import_path

    try:
        target = import_path(spec.type)
    except PlanResolveError:
        return False  # building the hook reports the import failure with its place in the file
    return _annotation_names_code(_arguments_model(target), parts)


def _below_a_call(args: dict[str, Any], parts: list[str]) -> bool:
    """Whether ``parts`` go below a ``$call`` the file wrote (``dataloader.batch_size``), to one of its arguments.

    The call stays the file's: ``$`` keys are refused before, and the value set is
    read as plain data (a string stays a string; only ``$ref``/``$call`` values are
    ever imported or called).
    """
    value: Any = args
    for i, part in enumerate(parts[:-1]):
        if not isinstance(value, dict):
            return False
        value = value.get("args", {}).get(part) if "$call" in value and part != "args" else value.get(part)
        if isinstance(value, dict) and "$call" in value and i + 1 < len(parts):
            return True
    return False


def _arguments_model(target: Any) -> Any:
    """What describes a hook class's arguments: its pydantic config, else its ``__init__``."""
    import pydantic

    from hookpipe.runtime.hooks.mixin import PipelineHooks
    if isinstance(target, type) and issubclass(target, pydantic.BaseModel):
        return target
    if isinstance(target, type) and issubclass(target, PipelineHooks):
        from hookpipe.runtime.plan.plan_hooks import config_class

        cfg = config_class(target)
        if cfg is not None:
            return cfg
    init = typing.cast(Any, target).__init__ if isinstance(target, type) else target
    try:
        return typing.get_type_hints(init, include_extras=True)
    except Exception:
        return getattr(init, "__annotations__", {})


def _annotation_names_code(model: Any, parts: list[str]) -> bool:
    """Walk ``parts`` down pydantic models; true when a field on the way can name code."""
    for part in parts:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(part)
            if field is None:
                return False
            annotation: Any = field.annotation
            if can_name_code(annotation) or any(can_name_code(m) for m in field.metadata if isinstance(m, type)):
                return True
        elif isinstance(model, dict):
            annotation = model.get(part)
            if annotation is None:
                return False
            if can_name_code(annotation):
                return True
        else:
            return False
        model = annotation
    return False


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
