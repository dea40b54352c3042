"""The default report: compiler-style diagnostics, coloured only on a terminal."""

from __future__ import annotations

import re

from hookpipe.diagnostics import format_diagnostic
from hookpipe.lint.runner import LintResult

_RESET = "\033[0m"
_STYLE = {"error": "\033[1;31m", "warning": "\033[1;33m", "bold": "\033[1m", "help": "\033[36m", "caret": "\033[1;32m"}
_HEADER = re.compile(r"^(?P<where>\S+:\d+:\d+:) (?P<code>HP\d+ (?P<sev>error|warning)):(?P<rest>.*)$")
_CARET = re.compile(r"^(?P<gutter>\s*\| )(?P<pad>\s*)(?P<carets>\^+)(?P<rest>.*)$")


def _colour(block: str) -> str:
    lines = []
    for line in block.split("\n"):
        m = _HEADER.match(line)
        if m:
            line = (f"{_STYLE['bold']}{m['where']}{_RESET} {_STYLE[m['sev']]}{m['code']}:{_RESET}"
                    f"{_STYLE['bold']}{m['rest']}{_RESET}")
        elif (c := _CARET.match(line)) is not None:
            line = f"{c['gutter']}{c['pad']}{_STYLE['caret']}{c['carets']}{_RESET}{c['rest']}"
        elif " = help: " in line:
            head, _, tail = line.partition(" = help: ")
            line = f"{head} = {_STYLE['help']}help:{_RESET} {tail}"
        lines.append(line)
    return "\n".join(lines)


def summary(result: LintResult) -> str:
    n = len(result.files)
    files = f"{n} file{'s' if n != 1 else ''}"
    if not result.diagnostics:
        return f"hookpipe lint: {files} checked, no findings"
    e, w = result.errors, result.warnings
    return (f"hookpipe lint: {files} checked, {e} error{'s' if e != 1 else ''}, "
            f"{w} warning{'s' if w != 1 else ''}")


def render(result: LintResult, colour: bool = False) -> str:
    """Every diagnostic with its source excerpt, then a one-line summary."""
    blocks = [format_diagnostic(d, result.sources) for d in result.diagnostics]
    if colour:
        blocks = [_colour(b) for b in blocks]
    return "".join(b + "\n\n" for b in blocks) + summary(result) + "\n"
