"""``--format sarif``: a SARIF 2.1.0 log for GitHub code scanning and other viewers.

Every code is a rule in ``tool.driver.rules`` (id, name, short and full
description, help text and URI, default level); results point at physical
locations relative to ``%SRCROOT%`` (the repository root, ``report_paths``) with 1-based columns
counted in code points, as the parser counts them. ``partialFingerprints``
hash the code and the line's text (not its number), so a finding keeps its
identity when lines are inserted above it.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from hookpipe import __version__
from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl.span import Span
from hookpipe.escaping import escape
from hookpipe.lint.codes import CODES, Code
from hookpipe.lint.formats.report_paths import ReportPaths
from hookpipe.lint.pages import page, section
from hookpipe.lint.runner import LintResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/hookpipe/hookpipe"
ROOT = "%SRCROOT%"


def _rule(code: Code) -> dict[str, object]:
    name = "".join(w.capitalize() for w in "".join(ch if ch.isalnum() else " " for ch in code.title).split())
    text = page(code.code)
    return {
        "id": code.code,
        "name": name,
        "shortDescription": {"text": code.title},
        "fullDescription": {"text": section(code.code, "What")},
        "help": {"text": text, "markdown": text},
        "helpUri": code.help_uri,
        "defaultConfiguration": {"level": code.severity},
        "properties": {"tags": ["hookpipe"], "problem.severity": code.severity},
    }


def _location(span: Span, paths: ReportPaths) -> dict[str, object]:
    relative = paths.relative(span.file)
    artifact: dict[str, str]
    if relative is not None:
        artifact = {"uri": quote(relative), "uriBaseId": ROOT}
    else:
        artifact = {"uri": paths.absolute(span.file).as_uri()}
    region = {"startLine": span.line, "startColumn": span.column}
    if span.end_line >= span.line and (span.end_line, span.end_column) > (span.line, span.column):
        region.update(endLine=span.end_line, endColumn=span.end_column)
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _fingerprint(d: Diagnostic, file: str, line_text: str, seen: dict[str, int]) -> str:
    digest = hashlib.sha256(f"{d.code}\0{file}\0{line_text.strip()}".encode()).hexdigest()[:32]
    seen[digest] = seen.get(digest, 0) + 1
    return f"{digest}:{seen[digest]}"


def to_sarif(result: LintResult) -> dict[str, object]:
    index = {c.code: i for i, c in enumerate(CODES)}
    seen: dict[str, int] = {}
    paths = ReportPaths(result.files)
    results = []
    for d in result.diagnostics:
        message = escape(d.message) + (f"\nhelp: {escape(d.help)}" if d.help else "")
        line_text = result.sources.line(d.span.file, d.span.line) or ""
        item: dict[str, object] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": d.severity,
            "message": {"text": message},
            "locations": [_location(d.span, paths)],
            "partialFingerprints": {
                "primaryLocationLineHash": _fingerprint(d, paths.relative(d.span.file) or d.span.file, line_text, seen)
            },
        }
        related = [
            {"id": i, "message": {"text": escape(n.message)}, **_location(n.span, paths)}
            for i, n in enumerate(d.notes) if n.span is not None
        ]
        if related:
            item["relatedLocations"] = related
        results.append(item)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hookpipe",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(c) for c in CODES],
            }},
            "originalUriBaseIds": {ROOT: {"uri": paths.base.as_uri().rstrip("/") + "/"}},
            "artifacts": [{"location": _location(Span(f, 1, 1, 1, 1), paths)["physicalLocation"]["artifactLocation"]}  # type: ignore[index]
                          for f in result.files],
            "columnKind": "unicodeCodePoints",
            "invocations": [{"executionSuccessful": True}],
            "results": results,
        }],
    }


def render(result: LintResult, colour: bool = False) -> str:
    return json.dumps(to_sarif(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
