"""``--format github``: workflow-command annotations, then the full text report.

``::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message`` makes a
finding show inline on the pull request; ``F`` is relative to the repository
root whatever the working directory (``report_paths``). GitHub shows only the first 10
annotations of each kind per step, so the plain report follows for the rest.
Escaping follows the runner's toolkit: ``%``, CR and LF in the message; those
plus ``:`` and ``,`` in property values; file names arrive with control
every value from the file (message, note, file name) first goes through
``hookpipe.escaping.escape``, so no raw newline, ESC or bidi control is left to encode.
"""

from __future__ import annotations

import hashlib

from hookpipe.diagnostics import Diagnostic, where
from hookpipe.escaping import escape
from hookpipe.lint.formats import text
from hookpipe.lint.formats.report_paths import ReportPaths
from hookpipe.lint.runner import LintResult


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(d: Diagnostic, paths: ReportPaths | None = None) -> str:
    """One ``::error``/``::warning`` command for a diagnostic (file names as ``paths`` reports them)."""
    span = d.span
    file = paths.for_annotation(span.file) if paths is not None else span.file
    props = [("file", escape(file)), ("line", str(span.line)), ("col", str(span.column))]
    if span.end_line >= span.line:
        props += [("endLine", str(span.end_line)), ("endColumn", str(span.end_column))]
    props.append(("title", d.code))
    message = escape(d.message)
    for note in d.notes:
        message += f"\nnote: {f'{where(note.span)}: ' if note.span else ''}{escape(note.message)}"
    if d.help:
        message += f"\nhelp: {escape(d.help)}"
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{d.severity} {head}::{escape_data(message)}"


def render(result: LintResult, colour: bool = False) -> str:
    """The annotations, then the text report with workflow commands switched off around it.

    The report quotes file names, messages and source lines, all of which a pull
    request chooses; between ``::stop-commands::TOKEN`` and ``::TOKEN::`` the runner
    treats no line as a command. The token is a hash of the report itself, so the
    report cannot contain it (and the output stays the same for the same input).
    """
    paths = ReportPaths(result.files)
    lines = [annotation(d, paths) for d in result.diagnostics]
    report = text.render(result, colour=False)
    token = "hookpipe-" + hashlib.sha256(report.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return ("".join(line + "\n" for line in lines) + f"::stop-commands::{token}\n" + report + f"::{token}::\n")
