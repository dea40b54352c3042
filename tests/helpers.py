"""Fixture pairs: ``tests/fixtures/<area>/<name>.pipe`` with ``<name>.expected`` beside it.

``.expected`` holds one line per diagnostic, ``LINE:COL CODE severity: message``,
then indented ``note:``/``help:`` lines. Set ``HOOKPIPE_UPDATE_GOLDEN=1`` to
rewrite them from the current output (then review the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

from hookpipe.compiler import compile_path
from hookpipe.diagnostics import Diagnostic, sort_diagnostics

FIXTURES = Path(__file__).parent / "fixtures"


def fixtures(area: str) -> list[Path]:
    return sorted((FIXTURES / area).glob("*.pipe"))


def describe(diagnostics: list[Diagnostic]) -> str:
    lines = []
    for d in sort_diagnostics(diagnostics):
        lines.append(f"{d.span.line}:{d.span.column} {d.code} {d.severity}: {d.message}")
        for note in d.notes:
            where = f"{note.span.line}:{note.span.column} " if note.span else ""
            lines.append(f"    note: {where}{note.message}")
        if d.help:
            lines.append(f"    help: {d.help}")
    return "\n".join(lines) + "\n"


def check_golden(pipe: Path, actual: str) -> None:
    expected_path = pipe.with_suffix(".expected")
    if os.environ.get("HOOKPIPE_UPDATE_GOLDEN"):
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"{expected_path.name} is missing (HOOKPIPE_UPDATE_GOLDEN=1 writes it)"
    assert actual == expected_path.read_text(encoding="utf-8")


def compile_fixture(pipe: Path) -> str:
    # Relative to the fixture folder so the output names files the same on every machine.
    cwd = os.getcwd()
    os.chdir(pipe.parent)
    try:
        ctx = compile_path(pipe.name)
    finally:
        os.chdir(cwd)
    return describe(ctx.diagnostics)
