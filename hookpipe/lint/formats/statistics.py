"""``hookpipe lint --statistics``: how many findings of each code, as ruff's ``--statistics`` counts them.

For a first look at a large tree (which rules to fix first, which to ignore) and for
CI dashboards. The text table is one line a code, most frequent first; the JSON form
is a list of ``{code, severity, title, count}`` objects in the same order. The
severity is the one reported (a warning promoted by ``--warnings-as-errors`` counts
as an error).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hookpipe.lint.codes import CODES
from hookpipe.lint.formats.text import summary
from hookpipe.lint.runner import LintResult

#: The output formats that have a statistics form.
STATISTICS_FORMATS: tuple[str, ...] = ("text", "json")

_TITLES = {c.code: c.title for c in CODES}


def counts(result: LintResult) -> list[dict[str, Any]]:
    """One entry a (code, severity) reported, most frequent first, then by code."""
    found = Counter((d.code, d.severity) for d in result.diagnostics)
    return [{"code": code, "severity": severity, "title": _TITLES.get(code, ""), "count": n}
            for (code, severity), n in sorted(found.items(), key=lambda item: (-item[1], item[0]))]


def render(name: str, result: LintResult) -> str:
    """The statistics in format ``name`` (one of :data:`STATISTICS_FORMATS`)."""
    rows = counts(result)
    if name == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    width = max((len(str(r["count"])) for r in rows), default=1)
    lines = [f"{r['count']:>{width}}  {r['code']}  {r['severity']:<7}  {r['title']}" for r in rows]
    return "".join(line + "\n" for line in lines) + summary(result) + "\n"
