"""``--format json``: one JSON document, schema in docs/lint-json.schema.json (version 1).

Keys are sorted and the diagnostics ordered by (file, line, column, code), so the
same input always gives the same bytes. ``severity`` is the reported one: a
warning promoted by warnings-as-errors reads "error". Fields are only ever added
within one ``version``.
"""

from __future__ import annotations

import json

from hookpipe import __version__
from hookpipe.lint.codes import BY_CODE
from hookpipe.lint.runner import LintResult

JSON_VERSION = 1


def to_dict(result: LintResult) -> dict[str, object]:
    diagnostics = []
    for d in result.diagnostics:
        item = d.to_json()
        info = BY_CODE.get(d.code)
        item["url"] = info.help_uri if info else None
        diagnostics.append(item)
    return {
        "version": JSON_VERSION,
        "tool": {"name": "hookpipe", "version": __version__},
        "files": list(result.files),
        "diagnostics": diagnostics,
        "summary": {"files": len(result.files), "errors": result.errors, "warnings": result.warnings,
                    "failed": result.failed},
    }


def render(result: LintResult, colour: bool = False) -> str:
    return json.dumps(to_dict(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
