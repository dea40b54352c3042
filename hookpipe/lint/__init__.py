"""``hookpipe lint``: every compiler check plus the HP1xx warnings, for CI and editors.

Public pieces: ``lint_paths`` (files and folders in, a ``LintResult`` out), the
code table ``CODES`` and the rule registry ``RULES``. Nothing here imports torch,
accelerate or user code.

The names load on first use (PEP 562), as in ``hookpipe``: ``hookpipe fmt`` reads
``hookpipe.lint.discover`` and must not import the compiler (and pydantic) that
``lint_paths`` needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookpipe.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hookpipe.lint.codes import CODES, Code
    from hookpipe.lint.config import ConfigError, Overrides
    from hookpipe.lint.discover import MissingPath
    from hookpipe.lint.rules import RULES, Rule
    from hookpipe.lint.runner import LintResult, lint_paths

__all__ = ["CODES", "RULES", "Code", "ConfigError", "LintResult", "MissingPath", "Overrides", "Rule", "lint_paths"]

_LAZY = {
    "CODES": "hookpipe.lint.codes",
    "Code": "hookpipe.lint.codes",
    "ConfigError": "hookpipe.lint.config",
    "Overrides": "hookpipe.lint.config",
    "MissingPath": "hookpipe.lint.discover",
    "RULES": "hookpipe.lint.rules",
    "Rule": "hookpipe.lint.rules",
    "LintResult": "hookpipe.lint.runner",
    "lint_paths": "hookpipe.lint.runner",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
