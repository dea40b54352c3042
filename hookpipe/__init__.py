"""hookpipe: declare, check and run the hook order of PyTorch training loops.

Importing this package never imports torch; ``hookpipe.runtime`` does. The
compiler is imported on first use of its names (PEP 562), so a process that only
needs part of hookpipe (``hookpipe lsp`` answering ``initialize``, ``--version``)
does not pay for pydantic and the grammar up front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookpipe.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hookpipe.compiler import Plan, compile_file, compile_text
    from hookpipe.diagnostics import Diagnostic
    from hookpipe.errors import CompileError, HookpipeError

__version__ = "0.1.0"

__all__ = ["CompileError", "Diagnostic", "HookpipeError", "Plan", "__version__", "compile_file", "compile_text"]

_LAZY = {
    "Plan": "hookpipe.compiler",
    "compile_file": "hookpipe.compiler",
    "compile_text": "hookpipe.compiler",
    "Diagnostic": "hookpipe.diagnostics",
    "CompileError": "hookpipe.errors",
    "HookpipeError": "hookpipe.errors",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
