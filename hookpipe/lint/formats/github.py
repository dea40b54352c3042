"""``--format github``: workflow-command annotations, then the full text report.

``::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message`` makes a
finding show inline on the pull request. GitHub shows only the first 10
annotations of each kind per step, so the plain report follows for the rest.
Escaping follows the runner's toolkit: ``%``, CR and LF in the message; those
plus ``:`` and ``,`` in property values.
"""

from __future__ import annotations

from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.formats import text
from hookpipe.lint.runner import LintResult


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(d: Diagnostic) -> str:
    """One ``::error``/``::warning`` command for a diagnostic."""
    span = d.span
    props = [("file", span.file), ("line", str(span.line)), ("col", str(span.column))]
    if span.end_line >= span.line:
        props += [("endLine", str(span.end_line)), ("endColumn", str(span.end_column))]
    props.append(("title", d.code))
    message = d.message
    for note in d.notes:
        message += f"\nnote: {f'{note.span}: ' if note.span else ''}{note.message}"
    if d.help:
        message += f"\nhelp: {d.help}"
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{d.severity} {head}::{escape_data(message)}"


def render(result: LintResult, colour: bool = False) -> str:
    lines = [annotation(d) for d in result.diagnostics]
    return "".join(line + "\n" for line in lines) + text.render(result, colour=False)
