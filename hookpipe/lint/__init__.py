"""``hookpipe lint``: every compiler check plus the HP1xx warnings, for CI and editors.

Public pieces: ``lint_paths`` (files and folders in, a ``LintResult`` out), the
code table ``CODES`` and the rule registry ``RULES``. Nothing here imports torch,
accelerate or user code.
"""

from hookpipe.lint.codes import CODES, Code
from hookpipe.lint.config import ConfigError, Overrides
from hookpipe.lint.discover import MissingPath
from hookpipe.lint.rules import RULES, Rule
from hookpipe.lint.runner import LintResult, lint_paths

__all__ = ["CODES", "RULES", "Code", "ConfigError", "LintResult", "MissingPath", "Overrides", "Rule", "lint_paths"]
