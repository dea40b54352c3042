"""Untrusted input: no command reads outside the project root (HP010) unless allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli

BASE = "trainer {\n    max_step = 2\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n"
#: Commands that read a .pipe file and its includes, with --root/--allow-outside-root.
READERS: tuple[tuple[str, ...], ...] = (("check",), ("explain",), ("render", "-o", "out.dot"), ("lint",))


def layout(tmp_path: Path) -> Path:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "x.pipe").write_text("hook l = loss_log()\n")
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "link").symlink_to(tmp_path / "secret", target_is_directory=True)
    (project / "escape.pipe").write_text('include "../secret/x.pipe"\n' + BASE)
    (project / "symlink.pipe").write_text('include "link/x.pipe"\n' + BASE)
    (project / "sub" / "up.pipe").write_text('include "../ok.pipe"\n' + BASE)
    (project / "ok.pipe").write_text("hook l = loss_log()\n")
    return project


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("name", ["escape.pipe", "symlink.pipe"])
def test_includes_leaving_the_root_are_refused_by_every_reader(tmp_path: Path, command: tuple[str, ...], name: str) -> None:
    project = layout(tmp_path)
    command = tuple(str(tmp_path / c) if c == "out.dot" else c for c in command)
    result = run_cli(*command, str(project / name))
    code, text = result.code, result.output
    assert code == 1 and "HP010 error: include" in text and "leaves the project root" in text, text
    result = run_cli(*command, str(project / name), "--allow-outside-root")
    code, text = result.code, result.output
    assert code == 0, text


def test_fmt_reads_only_the_file_it_formats(tmp_path: Path) -> None:
    project = layout(tmp_path)
    (tmp_path / "secret" / "x.pipe").unlink()  # fmt never follows includes: a missing target is no error
    result = run_cli("fmt", "--check", str(project / "escape.pipe"))
    code, text = result.code, result.output
    assert code in (0, 1) and "Traceback" not in text and "HP010" not in text, text


@pytest.mark.parametrize("command", READERS)
def test_root_option_narrows_the_root(tmp_path: Path, command: tuple[str, ...]) -> None:
    project = layout(tmp_path)
    command = tuple(str(tmp_path / c) if c == "out.dot" else c for c in command)
    # Inside the project, but outside an explicit --root of sub/.
    assert run_cli(*command, str(project / "sub" / "up.pipe")).code == 0
    result = run_cli(*command, str(project / "sub" / "up.pipe"), "--root", str(project / "sub"))
    code, text = result.code, result.output
    assert code == 1 and "leaves the project root" in text, text


def test_an_include_outside_the_root_says_the_same_whether_its_target_exists(tmp_path: Path) -> None:
    """A pull request must not learn from a CI log which files exist on the runner."""
    project = layout(tmp_path)
    (project / "dead").symlink_to(tmp_path / "secret" / "no-such.pipe")
    messages = []
    for target in ("../secret/x.pipe", "../secret/no-such.pipe", str(tmp_path / "secret" / "x.pipe"),
                   str(tmp_path / "nowhere" / "x.pipe"), "link/x.pipe", "link/no-such.pipe", "dead"):
        (project / "probe.pipe").write_text(f'include "{target}"\n' + BASE)
        result = run_cli("check", str(project / "probe.pipe"))
        assert result.code == 1
        line = next(line for line in result.output.splitlines() if "HP010" in line)
        messages.append(line.replace(target, "TARGET"))
    assert len(set(messages)) == 1, messages
    assert "leaves the project root" in messages[0]


@pytest.mark.parametrize("command", [("lint",), ("check",), ("fmt", "--check")])
def test_nothing_inside_the_git_folder_is_read_or_quoted(tmp_path: Path, command: tuple[str, ...]) -> None:
    """``actions/checkout`` keeps the job's token in ``.git/config``; a diagnostic quotes a file's lines.

    An ``include ".git/config"`` or a committed ``leak.pipe -> .git/config`` lies inside the project
    root, so the root rule alone let lint print the token's line as a syntax error.
    """
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text('[http]\n\textraheader = AUTHORIZATION: basic SECRET-TOKEN\n')
    (tmp_path / "include.pipe").write_text('include ".git/config"\n' + BASE)
    (tmp_path / "leak.pipe").symlink_to(tmp_path / ".git" / "config")
    (tmp_path / ".GIT").mkdir()  # as a case-insensitive file system (macOS, Windows) would open `.git`
    (tmp_path / ".GIT" / "config").write_text('[http]\n\textraheader = AUTHORIZATION: basic SECRET-TOKEN\n')
    (tmp_path / "upper.pipe").write_text('include ".GIT/config"\n' + BASE)
    names = ("leak.pipe", ".git/config", ".GIT/config") if command[0] == "fmt" else (
        "include.pipe", "leak.pipe", ".git/config", "upper.pipe")
    for name in names:  # fmt reads no includes
        result = run_cli(*command, str(tmp_path / name))
        assert result.code == 1, result.output
        assert "SECRET" not in result.output
        assert "lies inside the repository's `.git` folder" in result.output
