"""hookpipe diagnostics as protocol diagnostics: notes become related locations.

Each one carries its code with a link to the rule page (``codeDescription``),
the help line appended to the message, and its quick fixes in ``data``.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic
from hookpipe.escaping import escape
from hookpipe.lint.codes import BY_CODE, HELP_URI
from hookpipe.lsp.convert import span_range, uri_of
from hookpipe.lsp.fixes import Fix, fixes_for

SOURCE = "hookpipe"
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def to_lsp(d: Diagnostic, ctx: Compilation) -> types.Diagnostic:
    related = [types.DiagnosticRelatedInformation(location=types.Location(uri=uri_of(n.span.file),
                                                                          range=span_range(n.span)),
                                                  message=escape(n.message))
               for n in d.notes if n.span is not None]
    unplaced = [escape(n.message) for n in d.notes if n.span is None]
    message = "\n".join([escape(d.message), *(f"note: {m}" for m in unplaced),
                         *([f"help: {escape(d.help)}"] if d.help else [])])
    info = BY_CODE.get(d.code)
    return types.Diagnostic(
        range=span_range(d.span),
        message=message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        code_description=types.CodeDescription(href=info.help_uri if info else HELP_URI.format(code=d.code)),
        source=SOURCE,
        related_information=related or None,
        data={"fixes": [_fix_json(f) for f in fixes_for(d, ctx)]},
    )


def _fix_json(fix: Fix) -> dict[str, Any]:
    return {"title": fix.title, "preferred": fix.preferred,
            "edits": [{"uri": uri_of(e.span.file), "range": _range_json(span_range(e.span)), "text": e.text}
                      for e in fix.edits]}


def _range_json(r: types.Range) -> dict[str, Any]:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}
