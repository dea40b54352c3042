"""Output formats of ``hookpipe lint``: each a module with ``render(result, options) -> str``."""

from __future__ import annotations

from hookpipe.lint.formats import github, json_format, sarif, text

#: --format name -> renderer
FORMATS = {
    "text": text.render,
    "json": json_format.render,
    "github": github.render,
    "sarif": sarif.render,
}
