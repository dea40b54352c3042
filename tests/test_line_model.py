"""One line model, ``\\n`` alone: the parser, excerpts, fixes, fmt's diff and the language server agree.

``str.splitlines`` also breaks at ``\\f``, ``\\v``, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and
U+2029; one of them in a comment used to make every later excerpt quote the wrong
line and the suppression fix write over the wrong text.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hookpipe.commands.common import print_diagnostics
from hookpipe.compiler.pipeline import compile_path
from hookpipe.dsl.parser import parse_text
from hookpipe.lint.runner import lint_compilation
from hookpipe.lsp.fixes import fixes_for
from hookpipe.span import offset_at, source_lines
from tests.helpers import run_cli_process

#: Characters ``str.splitlines`` breaks at and the language does not.
BREAKERS = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def pipeline(breaker: str) -> str:
    return (f"# a comment{breaker}with a break in it\n"
            "trainer {\n    max_step = 10\n}\n"
            f'hook o = optimizer()  # and{breaker}here\n'
            "hook c = grad_clip(max_nrm = 1.0)\n"
            "loop {\n    epoch {\n        step {\n            after { o -> c }\n        }\n    }\n}\n")


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda c: f"U+{ord(c):04X}")
def test_the_excerpt_quotes_the_line_the_error_is_on(tmp_path: Path, breaker: str) -> None:
    path = tmp_path / "p.pipe"
    path.write_text(pipeline(breaker), encoding="utf-8")
    ctx = compile_path(path)
    (d,) = [d for d in ctx.diagnostics if d.code == "HP003"]
    assert (d.span.line, d.span.column) == (6, 20)
    out = io.StringIO()
    print_diagnostics([d], ctx.sources, out)
    assert "\n6 | hook c = grad_clip(max_nrm = 1.0)\n" in out.getvalue(), out.getvalue()


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_syntax_error_after_the_break_is_on_its_line(breaker: str) -> None:
    (d,) = parse_text(f"# one{breaker}two\nhook a = t()\n\nhook b = t(x = )\n", "t.pipe").diagnostics
    assert (d.code, d.span.line, d.span.column) == ("HP001", 4, 16)


@pytest.mark.slow
def test_the_check_command_prints_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / "p.pipe"
    path.write_text(pipeline("\u2028"), encoding="utf-8")
    done = run_cli_process("check", str(path), cwd=tmp_path)
    assert done.returncode == 1
    assert "\n6 | hook c = grad_clip(max_nrm = 1.0)\n" in done.stderr, done.stderr


def test_the_suppression_fix_writes_on_the_finding_line(tmp_path: Path) -> None:
    path = tmp_path / "p.pipe"
    path.write_text("# x\u2028y\ntrainer {\n    max_step = 10\n}\nhook o = optimizer()\nhook spare = optimizer()\n"
                    "loop {\n    epoch {\n        step {\n            after { o }\n        }\n    }\n}\n",
                    encoding="utf-8")
    ctx = compile_path(path)
    (d,) = [d for d in lint_compilation(ctx).diagnostics if d.code == "HP103"]
    assert d.span.line == 6
    (fix,) = [f for f in fixes_for(d, ctx) if f.title.startswith("Suppress")]
    text = path.read_text(encoding="utf-8")
    for edit in fix.edits:
        start = offset_at(text, edit.span.line, edit.span.column)
        end = offset_at(text, edit.span.end_line, edit.span.end_column)
        text = text[:start] + edit.text + text[end:]
    assert source_lines(text)[5] == "hook spare = optimizer()  # hookpipe: ignore[HP103]"
    assert source_lines(text)[0] == "# x\u2028y"


@pytest.mark.slow
def test_fmt_diff_counts_the_same_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.pipe"
    path.write_text("# a\u2028b\nhook   o = optimizer()\n", encoding="utf-8")
    done = run_cli_process("fmt", "--diff", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "@@ -1,2 +1,2 @@" in done.stdout and "-hook   o = optimizer()\n+hook o = optimizer()\n" in done.stdout


def test_offsets_count_newlines_only() -> None:
    text = "# \u2028\f\nhook a\n"
    assert text[offset_at(text, 2, 6)] == "a"
    assert offset_at(text, 2, 99) == text.index("a") + 1  # past the line's end: the end of the line
    assert offset_at(text, 9, 1) == len(text)  # past the last line: the end of the text
    assert source_lines(text) == ["# \u2028\f", "hook a", ""]


def test_the_line_model_examples_run_as_written() -> None:
    import doctest

    import hookpipe.span

    result = doctest.testmod(hookpipe.span)
    assert result.attempted >= 3 and result.failed == 0
