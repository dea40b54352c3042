"""Hook classes whose arguments name code, for ``--set`` refusal tests (tests/runtime/test_set_plain_data.py)."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, ImportString

from hookpipe.runtime.hooks.mixin import PipelineHooks


class PlainFactoryHook:
    """A plain class: ``factory`` is a class (a string there would be imported by pydantic-like callers)."""

    def __init__(self, factory: type | None = None, make: Callable[[], Any] | None = None, size: int = 1) -> None:
        self.factory, self.make, self.size = factory, make, size

    def on_step_end(self, args: Any) -> None: ...


class Settings(BaseModel):
    """A nested table: ``fn`` is imported by pydantic from a string."""

    fn: ImportString[Callable[..., Any]] | None = None
    depth: int = 1


class CodeConfig(BaseModel):
    """The config of :class:`ConfiguredHook` (seed style: ``__init__(self, cfg)``)."""

    target: ImportString[Any] | None = None
    settings: Settings = Settings()
    rate: float = 0.1


class ConfiguredHook(PipelineHooks):
    def __init__(self, cfg: CodeConfig) -> None:
        super().__init__()
        self.cfg = cfg
