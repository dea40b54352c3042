"""AST values -> the JSON values a Plan holds, resolving ``use`` aliases.

``digits.evaluate`` becomes ``{"$ref": "examples.digits.train:evaluate"}`` and a
call becomes ``{"$call": ..., "args": {...}}``; nothing is imported here.
"""

from __future__ import annotations

import re
from typing import Any

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.run_values import RUN_KEY, RUN_VALUES
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.diagnostics import Note
from hookpipe.dsl import ast

_IMPORT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_.]*)?$")


def object_path(ctx: Compilation, callee: ast.Ref | ast.Str) -> str | None:
    """The import path a reference or quoted path names; None (and a diagnostic) if unknown."""
    if isinstance(callee, ast.Str):
        if not _IMPORT_PATH.match(callee.value):
            ctx.error("HP003", f"`{callee.value}` is not an import path", callee.span,
                      help='write a dotted path such as "torch.optim.AdamW"')
            return None
        return callee.value
    alias, *rest = callee.parts
    if alias not in ctx.uses:
        ctx.unknown("HP002", f"unknown alias `{alias}`", callee.span,
                  help=did_you_mean(alias, ctx.uses) or f'declare it: use {alias} = "package.module"')
        return None
    module = ctx.uses[alias].module
    return f"{module}:{'.'.join(rest)}" if rest else module


def to_json(ctx: Compilation, value: ast.Value) -> Any:
    """The JSON form of a value; unresolvable references become None after a diagnostic."""
    if isinstance(value, (ast.Int, ast.Float, ast.Str, ast.Bool)):
        return value.value
    if isinstance(value, ast.NoneValue):
        return None
    if isinstance(value, ast.RunValue):
        return run_value(ctx, value)
    if isinstance(value, ast.ListValue):
        return [to_json(ctx, v) for v in value.items]
    if isinstance(value, ast.Table):
        return {a.name: to_json(ctx, a.value) for a in value.items}
    if isinstance(value, ast.Ref):
        if len(value.parts) == 1 and value.parts[0] not in ctx.uses:
            ctx.unknown("HP002", f"unknown name `{value.parts[0]}`", value.span,
                      help=did_you_mean(value.parts[0], ctx.uses) or "quote strings: \"text\"")
            return None
        path = object_path(ctx, value)
        return {"$ref": path} if path else None
    assert isinstance(value, ast.Call)
    path = object_path(ctx, value.callee)
    return {"$call": path, "args": arguments(ctx, value.args)} if path else None


def run_value(ctx: Compilation, value: ast.RunValue) -> Any:
    """``{"$run": NAME}``, kept for the runtime to fill in; an unknown name is HP002."""
    if value.name not in RUN_VALUES:
        names = [f"run.{n}" for n in RUN_VALUES]
        ctx.unknown("HP002", f"unknown run-time value `{value.dotted}`", value.span,
                    help=did_you_mean(value.dotted, names) or f"run-time values: {', '.join(names)}")
        return None
    return {RUN_KEY: value.name}


def arguments(ctx: Compilation, args: tuple[ast.Argument, ...]) -> dict[str, Any]:
    """Keyword arguments as a dict; a repeated keyword is HP009."""
    out: dict[str, Any] = {}
    seen: dict[str, ast.Argument] = {}
    for arg in args:
        if arg.name in seen:
            ctx.error("HP009", f"argument `{arg.name}` is given twice", arg.span,
                      notes=(Note("first given here", seen[arg.name].span),), help="remove one of them")
            continue
        seen[arg.name] = arg
        out[arg.name] = to_json(ctx, arg.value)
    return out

