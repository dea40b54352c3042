"""hookpipe: declare, check and run the hook order of PyTorch training loops.

Importing this package never imports torch; ``hookpipe.runtime`` does. The public
names below load on first use (PEP 562), so ``hookpipe --version`` or a
subcommand that needs only part of the compiler does not pay for all of it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "Plan": "hookpipe.compiler.plan",
    "compile_file": "hookpipe.compiler.pipeline",
    "compile_text": "hookpipe.compiler.pipeline",
    "Diagnostic": "hookpipe.diagnostics",
    "CompileError": "hookpipe.errors",
    "HookpipeError": "hookpipe.errors",
}

__all__ = ["CompileError", "Diagnostic", "HookpipeError", "Plan", "__version__", "compile_file", "compile_text"]

if TYPE_CHECKING:
    from hookpipe.compiler.pipeline import compile_file, compile_text
    from hookpipe.compiler.plan import Plan
    from hookpipe.diagnostics import Diagnostic
    from hookpipe.errors import CompileError, HookpipeError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hookpipe' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
