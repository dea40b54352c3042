"""Output formats of ``hookpipe lint``: each a module with ``render(result, colour) -> str``.

A run prints one format, so only that one's module is imported (SARIF's reads the
rule pages, JSON's and SARIF's import ``json``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hookpipe.lint.runner import LintResult

#: --format name -> the module that renders it
FORMATS: dict[str, str] = {
    "text": "hookpipe.lint.formats.text",
    "json": "hookpipe.lint.formats.json_format",
    "github": "hookpipe.lint.formats.github",
    "sarif": "hookpipe.lint.formats.sarif",
}


def render(name: str, result: LintResult, colour: bool) -> str:
    """``result`` in the format ``name`` (a key of :data:`FORMATS`)."""
    text: str = importlib.import_module(FORMATS[name]).render(result, colour)
    return text
