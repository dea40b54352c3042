"""Output that cannot lie: every value from a file, a file name or a config is escaped (issue 23).

A pull request chooses its strings, comments, file names, folder names and TOML keys.
None of them may start a new line of output (a ``::error`` workflow command in a CI
log, a forged diagnostic), nor print ESC, BEL, OSC 8 or bidi controls raw, in any
format. Each test runs the real command line on the exact attack and reads every line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hookpipe.escaping import escape
from tests.helpers import run_cli

#: What an attacker wants a CI runner to read as a command of its own.
FORGED = "::error::FORGED"
#: Characters that must never reach a terminal or a log raw.
RAW = ("\x1b", "\x07", "\u202e", "\u2066", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")
FORMATS = ("text", "github", "json", "sarif")
CLEAN = "trainer {\n    max_step = 2\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n"
#: HP103: a hook never attached, so lint has a finding to print in every format.
UNUSED = CLEAN.replace("hook o = optimizer()\n", "hook o = optimizer()\nhook spare = log()\n")


def assert_cannot_lie(output: str) -> None:
    """No line starts the forged command; no control, bidi or separator character prints raw."""
    for line in output.split("\n"):
        assert not line.startswith(FORGED), f"forged line reached the start of a line: {line!r}"
        assert not line.startswith("FORGED")
    for ch in RAW:
        assert ch not in output, f"{ch!r} printed raw"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    return tmp_path


def test_escape_shows_every_hidden_character_and_leaves_text_alone() -> None:
    assert escape("a\nb\tc\x1b[31m\x07\u202e\u2066\u2028\x85\x9b") == (
        "a\\nb\\tc\\x1b[31m\\x07\\u202e\\u2066\\u2028\\x85\\x9b")
    assert escape("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\") == (
        "\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\")
    assert escape("déjà vu, 日本, 🙂") == "déjà vu, 日本, 🙂"
    assert escape(escape("x\ny")) == escape("x\ny")  # idempotent: an escaped part is never escaped twice


@pytest.mark.parametrize("command", ["check", "explain", *(f"lint:{f}" for f in FORMATS)])
def test_hp003_string_with_newline_cannot_start_a_line(project: Path, command: str) -> None:
    # the attack: `\n` inside a string literal, quoted by HP003
    (project / "a.pipe").write_text(CLEAN.replace("optimizer()", f'"x\\n{FORGED}"()'), encoding="utf-8")
    name, _, fmt = command.partition(":")
    result = run_cli(name, *(["--format", fmt] if fmt else []), str(project / "a.pipe"))
    assert result.code == 1
    assert_cannot_lie(result.output)
    assert f"x\\n{FORGED}" in result.output.replace("\\\\n", "\\n"), result.output


@pytest.mark.parametrize("command", ["check", "explain", *(f"lint:{f}" for f in FORMATS)])
def test_file_name_with_newline_cannot_start_a_line(project: Path, command: str) -> None:
    path = project / f"x\n{FORGED}\u202e.pipe"
    path.write_text(UNUSED, encoding="utf-8")
    name, _, fmt = command.partition(":")
    result = run_cli(name, *(["--format", fmt] if fmt else []), str(path))
    assert_cannot_lie(result.output)
    assert result.code in (0, 1)
    if name == "check":  # the ok line
        assert result.out.endswith(")\n") and f"x\\n{FORGED}\\u202e.pipe: ok (plan " in result.out
    if fmt == "json":
        files = json.loads(result.out)["files"]
        assert files and all("\n" not in f for f in files)


@pytest.mark.parametrize("command", ["check .", "lint .", "fmt --check .", "explain", "render"])
def test_a_file_named_as_a_workflow_command_cannot_start_a_line(project: Path, command: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A file name needs no newline to forge: reports print it at the start of a line.

    GitHub's runner trims a line's leading whitespace, then executes it if it starts with ``::``.
    """
    name = "::error file=README.md,line=1::forged.pipe"
    (project / name).write_text(UNUSED, encoding="utf-8")
    monkeypatch.chdir(project)
    args = command.split() if command.endswith(".") else [command, name] + (["-o", "x.svg"] if command == "render"
                                                                            else [])
    result = run_cli(*args)
    assert result.code in (0, 1), result.output
    assert "forged.pipe" in result.output
    for line in result.output.split("\n"):
        assert not line.lstrip().startswith("::"), line


@pytest.mark.parametrize("command", ["check .", "lint .", "fmt --check .", "fmt --diff .", "diff"])
def test_the_runners_older_command_form_is_escaped_anywhere_in_a_line(project: Path, command: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub's runner also executes ``##[error ...]msg`` found anywhere in a line (its parser searches
    the line for ``##[``): in a file name, a comment a source excerpt quotes, a TOML key."""
    name = "##[warning]forged-by-filename.pipe"
    (project / name).write_text(UNUSED.replace("hook spare = log()", "hook spare = log()  # ##[error file=README.md;"
                                               "line=1;title=Forged]Forged from a comment") + "\n\n",
                                encoding="utf-8")
    monkeypatch.chdir(project)
    args = command.split() if command != "diff" else ["diff", "--format", "text", name, name.replace(
        "forged", "other")]
    if command == "diff":
        (project / name.replace("forged", "other")).write_text(CLEAN, encoding="utf-8")
    result = run_cli(*args)
    assert result.code in (0, 1), result.output
    assert "forged-by-filename.pipe" in result.output and "##[" not in result.output
    assert "#\\x23[warning]forged-by-filename.pipe" in result.output


def test_a_toml_key_cannot_carry_the_older_command_form(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.hookpipe.lint]\n"##[error file=README.md;line=1]x" = 1\n')
    (project / "a.pipe").write_text(CLEAN, encoding="utf-8")
    result = run_cli("lint", "--format", "github", str(project / "a.pipe"))
    assert result.code == 2 and "unknown key `#\\x23[error file=README.md;line=1]x`" in result.err
    assert "##[" not in result.output


def test_fmt_diff_prints_the_files_lines_escaped(project: Path) -> None:
    hostile = "\x1b[31mred \u202e bidi \x07 bell"
    (project / "a.pipe").write_text(f"trainer {{    max_step = 2 }}\nhook o = optimizer()   # {hostile}\n"
                                    "loop { epoch { step { after { o } } } }\n", encoding="utf-8")
    result = run_cli("fmt", "--diff", str(project / "a.pipe"))
    assert "+    max_step = 2" in result.out
    assert_cannot_lie(result.output)
    assert " hook o = optimizer()   # \\x1b[31mred \\u202e bidi \\x07 bell\n" in result.out


@pytest.mark.parametrize("fmt", FORMATS)
def test_bidi_esc_and_bel_in_strings_and_comments_print_escaped(project: Path, fmt: str) -> None:
    hostile = "\u202e\u2066\x1b[2J\x07\x1b]8;;https://evil.example\x07"
    text = UNUSED.replace("hook spare = log()", f"hook spare = log()  # {hostile}")
    (project / "a.pipe").write_text(text, encoding="utf-8")
    result = run_cli("lint", "--format", fmt, str(project / "a.pipe"))
    assert result.code == 0 and "HP103" in result.output
    assert_cannot_lie(result.output)
    if fmt == "text":
        assert "# \\u202e\\u2066\\x1b[2J\\x07\\x1b]8;;https://evil.example\\x07" in result.output


def test_excerpt_caret_still_points_at_the_span_after_escapes(project: Path) -> None:
    # HP001 marks the bidi control itself: six carets under its six-character escape
    (project / "a.pipe").write_text(CLEAN.replace("hook o = optimizer()", "hook o = \u202eoptimizer()"),
                                    encoding="utf-8")
    result = run_cli("check", str(project / "a.pipe"))
    lines = result.err.split("\n")
    quoted = next(i for i, line in enumerate(lines) if "optimizer()" in line)
    source, caret = lines[quoted], lines[quoted + 1]
    assert "unexpected character `\\u202e`" in result.err and "= \\u202eoptimizer" in source
    assert source.index("\\u202e") == caret.index("^") and caret.count("^") == 6
    # a span after an escape: the caret moves with it
    (project / "a.pipe").write_text(CLEAN.replace("hook o = optimizer()",
                                                  'hook o = checkpoint(dir = "\u2066\x1b", bad = 1)'),
                                    encoding="utf-8")
    result = run_cli("check", str(project / "a.pipe"))
    lines = result.err.split("\n")
    quoted = next(i for i, line in enumerate(lines) if "checkpoint(dir" in line)
    source, caret = lines[quoted], lines[quoted + 1]
    assert '"\\u2066\\x1b", bad' in source and source.index("bad") == caret.index("^"), result.err


@pytest.mark.parametrize("toml, message", [
    (f'[tool.hookpipe.lint]\n"k\\n{FORGED}\\u202e" = 1\n', "unknown key `k\\n::error::FORGED\\u202e`"),
    (f'[tool.hookpipe.lint]\nselect = ["HP1\\n{FORGED}\\u2066"]\n', "unknown code `HP1\\n::error::FORGED\\u2066`"),
])
def test_config_errors_quote_toml_keys_and_select_entries_escaped(project: Path, toml: str, message: str) -> None:
    (project / "pyproject.toml").write_text(toml, encoding="utf-8")
    (project / "a.pipe").write_text(CLEAN, encoding="utf-8")
    for fmt in FORMATS:
        result = run_cli("lint", "--format", fmt, str(project / "a.pipe"))
        assert result.code == 2
        assert_cannot_lie(result.output)
        assert message in result.err, result.err


def test_select_on_the_command_line_and_missing_folder_names_are_escaped(project: Path) -> None:
    (project / "a.pipe").write_text(CLEAN, encoding="utf-8")
    result = run_cli("lint", "--select", f"HP1\n{FORGED}", str(project))
    assert result.code == 2 and "unknown code `HP1\\n::error::FORGED`" in result.err
    assert_cannot_lie(result.output)
    for command in ("lint", "check", "fmt"):
        result = run_cli(command, str(project / f"gone\n{FORGED}\x1b[31m"))
        assert result.code == 2, (command, result.output)
        assert_cannot_lie(result.output)
        assert "gone\\n::error::FORGED\\x1b[31m" in result.err


def test_folder_name_with_newline_in_warnings_and_ok_lines(project: Path) -> None:
    folder = project / f"d\n{FORGED}"
    folder.mkdir()
    for command in ("lint", "check"):
        result = run_cli(command, str(folder))
        assert_cannot_lie(result.output)
        assert "no .pipe files found in" in result.err
    (folder / "a.pipe").write_text(CLEAN, encoding="utf-8")
    result = run_cli("check", str(folder))
    assert result.code == 0 and ": ok (plan " in result.out
    assert_cannot_lie(result.output)


def test_render_and_fmt_messages_escape_the_file_name(project: Path) -> None:
    path = project / f"r\n{FORGED}.pipe"
    path.write_text(CLEAN.replace("max_step = 2", "max_step =   2"), encoding="utf-8")
    result = run_cli("fmt", "--check", str(path))
    assert "would reformat" in result.err
    assert_cannot_lie(result.output)
    result = run_cli("render", str(path), "-o", str(project / "out.dot"))
    assert result.code == 0, result.output
    assert_cannot_lie(result.output)
    assert os.path.exists(project / "out.dot")


def test_code_span_and_block_hold_any_backticks() -> None:
    pytest.importorskip("lsprotocol")  # the lsp extra
    from hookpipe.lsp.hover import code_block, code_span

    assert code_span("a`b") == "``a`b``" and code_span("`x") == "`` `x ``"
    assert code_block("x ```` y\nz").startswith("`````pipe\n") and code_block("x ```` y\nz").endswith("\n`````")
    assert "\n" not in code_block("a\nb\u202e").split("\n")[1]


@pytest.mark.parametrize("suffix", [".dot", ".mmd", ".svg"])
def test_a_picture_escapes_the_pipeline_name(project: Path, suffix: str) -> None:
    """`check` accepted `pipeline "a<ESC>b"` and `render` then failed: the renderer refused the raw byte."""
    text = 'pipeline "a\x1bb\u202e"\n' + CLEAN
    (project / "r.pipe").write_text(text, encoding="utf-8")
    assert run_cli("check", str(project / "r.pipe")).code == 0
    out = project / f"r{suffix}"
    result = run_cli("render", str(project / "r.pipe"), "-o", str(out))
    assert result.code == 0, result.output
    drawn = out.read_text(encoding="utf-8")
    assert_cannot_lie(drawn)
    if suffix != ".svg":
        assert "a\\x1bb\\u202e (r.pipe)" in drawn
