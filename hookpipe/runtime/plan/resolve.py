"""Turning a Plan's JSON values into Python objects.

Object values in a Plan are ``{"$ref": "module:attr"}`` (the object itself) or
``{"$call": "module:attr", "args": {...}}`` (the object called with keyword
arguments); a path without ``:`` is resolved by importing its longest importable
prefix and walking the rest as attributes. Nothing here runs at import time.
"""

from __future__ import annotations

import importlib
import inspect
import re
from types import ModuleType
from typing import Any

from hookpipe.compiler.suggest import did_you_mean
from hookpipe.runtime.errors import FactoryFailure, PlanResolveError

__all__ = ["MissingAttribute", "call_factory", "import_path", "is_object_value", "keyword_hint", "resolve_value"]

_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


def import_path(path: str) -> Any:
    """The object an import path names (``pkg.mod:attr.sub`` or ``pkg.mod.attr``).

    Example:
        >>> import_path("torch.optim:AdamW").__name__
        'AdamW'
    """
    if ":" in path:
        module_name, _, attrs = path.partition(":")
        module = _import(module_name, path)
        return _walk(module, attrs.split(".") if attrs else [], path)
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only "this prefix is not a module" means: try a shorter one.
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise PlanResolveError(f"importing {name!r} for {path!r} failed: {exc}") from exc
        except Exception as exc:
            raise PlanResolveError(f"importing {name!r} for {path!r} failed: {type(exc).__name__}: {exc}") from exc
        return _walk(module, parts[cut:], path)
    raise PlanResolveError(f"cannot import {path!r}: no prefix of it is an importable module")


class MissingAttribute(PlanResolveError):
    """The module (or class) imported, and lacks the name: no import path to check, a name to define or fix."""

    def __init__(self, message: str, owner: Any, attr: str) -> None:
        super().__init__(message)
        self.attr = attr
        self.owner_name = getattr(owner, "__name__", None) or type(owner).__name__
        #: The file the owner lives in, where it has one (a module, a class of one).
        self.file: str | None = getattr(owner, "__file__", None) or getattr(
            inspect.getmodule(owner), "__file__", None)


def _import(name: str, path: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise PlanResolveError(f"cannot import module {name!r} for {path!r}: {type(exc).__name__}: {exc}") from exc


def _walk(obj: Any, attrs: list[str], path: str) -> Any:
    for attr in attrs:
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            # The module's own names: not the modules it imported (`time` is no suggestion for `optimizer`).
            hint = did_you_mean(attr, (n for n in dir(obj) if not n.startswith("_")
                                       and not isinstance(getattr(obj, n, None), ModuleType)))
            owner = getattr(obj, "__name__", None) or type(obj).__name__
            raise MissingAttribute(f"cannot resolve {path!r}: `{owner}` has no attribute {attr!r}"
                                   + (f"; {hint}" if hint else ""), obj, attr) from None
    return obj


def is_object_value(value: Any) -> bool:
    """Whether ``value`` is a ``$ref``/``$call`` object value."""
    return isinstance(value, dict) and ("$ref" in value or "$call" in value)


def resolve_value(value: Any, *, strings_are_paths: bool = False) -> Any:
    """Recursively replace ``$ref``/``$call`` values by objects.

    Args:
        value: A JSON value from a Plan.
        strings_are_paths: Treat a plain string as an import path (used where a
            callable or class is expected, e.g. a validation callback).
    """
    if isinstance(value, dict):
        if "$ref" in value:
            return import_path(value["$ref"])
        if "$call" in value:
            return call_factory(value)
        return {k: resolve_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v) for v in value]
    if strings_are_paths and isinstance(value, str):
        return import_path(value)
    return value


def call_factory(value: Any, *leading: Any, what: str = "factory") -> Any:
    """Build an object from a factory value, passing ``leading`` positional arguments.

    A ``$call`` is called with its resolved keyword arguments; a ``$ref`` or an
    import-path string is called with ``leading`` only (the optimizer gets the model's
    parameters, the scheduler the optimizer).
    """
    if isinstance(value, dict) and "$call" in value:
        target, kwargs = import_path(value["$call"]), resolve_value(value.get("args", {}))
        name = value["$call"]
    elif isinstance(value, dict) and "$ref" in value:
        target, kwargs, name = import_path(value["$ref"]), {}, value["$ref"]
    elif isinstance(value, str):
        target, kwargs, name = import_path(value), {}, value
    else:
        raise PlanResolveError(f"{what}: expected an import path or a call, got {value!r}")
    if not callable(target):
        raise PlanResolveError(f"{what}: {name!r} is not callable")
    try:
        return target(*leading, **kwargs)
    except PlanResolveError:
        raise
    except TypeError as exc:
        raise PlanResolveError(f"{what}: calling {name}({_describe(kwargs)}) failed: {exc}"
                               f"{keyword_hint(target, exc) or quoted_number_hint(kwargs)}") from exc
    except Exception as exc:  # the factory's own error (a value it refuses, a bug): its traceback, then this
        raise FactoryFailure(f"{what}: calling {name}({_describe(kwargs)}) failed: "
                             f"{type(exc).__name__}: {exc}") from exc


def keyword_hint(target: Any, exc: BaseException) -> str:
    """``"; did you mean `x`?"`` when ``exc`` is an unexpected keyword close to one of ``target``'s."""
    m = _UNEXPECTED.search(str(exc))
    if m is None:
        return ""
    try:
        names = [p for p in inspect.signature(target).parameters if p not in ("self", "args", "kwargs")]
    except (TypeError, ValueError):
        return ""
    hint = did_you_mean(m.group(1), names)
    return f"; {hint}" if hint else (f"; it accepts: {', '.join(names)}" if names else "")


#: A number as a ``.pipe`` file writes one (``0.05``, ``1e-3``, ``-2``, ``10_000``): not ``inf`` or ``nan``.
_NUMBER = re.compile(r"-?[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9]+)?")


def quoted_number_hint(kwargs: dict[str, Any]) -> str:
    """``"; `lr` is the string "0.05": ..."`` when an argument is a number written in quotes.

    A factory that compares or adds its argument then fails with a TypeError that
    names no argument (``'<=' not supported between 'float' and 'str'``).
    """
    for key, value in kwargs.items():
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            return f'; `{key}` is the string "{value}": write it without quotes for a number ({key} = {value})'
    return ""


def _describe(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
