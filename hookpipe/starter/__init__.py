"""The files ``hookpipe init`` writes: a starter project that checks, lints and trains as written.

The templates are package data (``*.tmpl``), not modules: the starter's Python
file imports torch, and nothing under ``hookpipe`` but the runtime may.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["FILES", "read"]

#: (file written, template it comes from), in the order ``init`` lists them.
FILES: tuple[tuple[str, str], ...] = (
    ("train.pipe", "train.pipe.tmpl"),
    ("starter.py", "starter.py.tmpl"),
    ("pyproject.toml", "pyproject.toml.tmpl"),
)


def read(template: str, name: str) -> str:
    """A template's text with the project name filled in."""
    text = resources.files(__name__).joinpath(template).read_text(encoding="utf-8")
    return text.replace("{{name}}", name)
