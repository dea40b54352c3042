"""hookpipe: declare, check and run the hook order of PyTorch training loops.

Importing this package never imports torch; ``hookpipe.runtime`` does.
"""

from hookpipe.compiler import Plan, compile_file, compile_text
from hookpipe.diagnostics import Diagnostic
from hookpipe.errors import CompileError, HookpipeError

__version__ = "0.1.0"

__all__ = ["CompileError", "Diagnostic", "HookpipeError", "Plan", "__version__", "compile_file", "compile_text"]
