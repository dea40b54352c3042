"""Small helpers the lint rules share, so each rule module stays about its one check."""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.run_values import count_updates
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.dsl.span import Span


def warning(code: str, message: str, span: Span, notes: tuple[Note, ...] = (), help: str | None = None) -> Diagnostic:
    """A warning diagnostic; lint rules only ever warn (errors belong to the compiler)."""
    return Diagnostic(code, "warning", message, span, notes, help)


def setting(ctx: Compilation, key: str) -> Any:
    """A validated trainer setting (None when unset)."""
    return ctx.trainer.get(key)


def setting_note(ctx: Compilation, key: str, text: str | None = None) -> tuple[Note, ...]:
    """A note pointing at the trainer setting that explains a finding, if it was written."""
    written = ctx.settings.get(key)
    if written is None:
        return (Note(text or f"{key} is {setting(ctx, key)} (the default)"),)
    return (Note(text or f"{key} = {setting(ctx, key)} here", written.span),)


def grad_accumulation(ctx: Compilation) -> int:
    return int(setting(ctx, "grad_accumulation") or 1)


def most_updates(ctx: Compilation, steps: int) -> int:
    """The most optimizer updates ``steps`` batches can make when the epoch length is unknown.

    The run's one count (:func:`hookpipe.compiler.run_values.count_updates`) with
    one-batch epochs: each epoch's last batch updates, so every step is an update.
    """
    return count_updates(steps, 1, grad_accumulation(ctx)) or steps


def anchor(ctx: Compilation) -> Span:
    """Where a whole-pipeline finding points: the trainer block, else the main file's start."""
    return ctx.trainer_span or Span(ctx.main, 1, 1, 1, 1)
