"""``lint --root`` / ``--allow-outside-root``, as ``check`` takes them, and help texts that name real flags.

The CI maintainer's monorepo: ``.git`` at the top, ``services/trainer/`` with its own
``pyproject.toml``, and ``services/trainer/train.pipe`` including
``../../common/hooks.pipe``. ``lint .`` said "pass --allow-outside-root", then
rejected the flag; ``common/hooks.pipe`` was also linted alone (HP008).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from hookpipe.cli import build_parser
from tests.helpers import run_cli
from tests.test_root_refusal import layout

TRAINER = 'include "../../common/hooks.pipe"\ntrainer { max_step = 100 }\n' \
          "loop { epoch { step { after { clip -> optimize } } } }\n"
HOOKS = 'hook clip = grad_clip(mode = "norm", max_norm = 1.0)\nhook optimize = optimizer()\n'


@pytest.fixture
def mono(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "hooks.pipe").write_text(HOOKS)
    for service in ("trainer", "tuner"):
        folder = tmp_path / "services" / service
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(f"[project]\nname = '{service}'\n")
        (folder / "train.pipe").write_text(TRAINER)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _help_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "= help:" in line]


def test_the_default_root_refuses_the_shared_include_with_a_help_that_lint_accepts(mono: Path) -> None:
    result = run_cli("lint", ".")
    assert result.code == 1, result.output
    assert result.out.count("HP010 error: include `../../common/hooks.pipe` leaves the project root") == 2
    # The fragment whose include was refused is not linted alone as well: no HP008 for a trainer it lacks.
    assert "HP008" not in result.out and "common/hooks.pipe:" not in result.out, result.out
    assert "2 files checked" in result.out
    (help_line,) = set(_help_lines(result.out))
    assert "--allow-outside-root" not in help_line  # never suggest the unsafe flag for an include
    assert "`--root DIR`" in help_line and "lint" in help_line, help_line


def test_check_of_the_folder_does_not_check_the_refused_fragment_alone_either(mono: Path) -> None:
    result = run_cli("check", ".")
    assert result.code == 1
    assert "HP008" not in result.output and "HP010" in result.output


@pytest.mark.parametrize("jobs", ["1", "2"])  # 2: the root travels to the worker processes
def test_an_explicit_root_lints_the_monorepo(mono: Path, jobs: str) -> None:
    result = run_cli("lint", "--jobs", jobs, "--root", ".", ".")
    assert (result.code, result.err) == (0, ""), result.output
    assert "hookpipe lint: 2 files checked, no findings" in result.out


def test_the_root_is_relative_to_the_working_directory_as_in_check(mono: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(mono / "services" / "trainer")
    assert run_cli("lint", "--root", "../..", ".").code == 0
    assert run_cli("check", "--root", "../..", "train.pipe").code == 0
    assert run_cli("lint", "--allow-outside-root", ".").code == 0
    assert run_cli("lint", ".").code == 1


def test_a_root_that_is_not_a_folder_is_a_usage_error(mono: Path) -> None:
    for root in ("no-such-folder", "common/hooks.pipe"):
        result = run_cli("lint", "--root", root, ".")
        assert result.code == 2 and result.out == "", result.output
        assert f"--root {root}: not a folder" in result.err


@pytest.mark.parametrize("name", ["escape.pipe", "symlink.pipe"])
def test_lint_takes_the_root_options_as_check_does(tmp_path: Path, name: str) -> None:
    """tests/test_root_refusal.py's layout: an include out of the project, directly and through a link."""
    project = layout(tmp_path)
    for command in ("check", "lint"):
        refused = run_cli(command, str(project / name))
        assert refused.code == 1 and "leaves the project root" in refused.output, refused.output
        assert run_cli(command, str(project / name), "--allow-outside-root").code == 0
        assert run_cli(command, str(project / name), "--root", str(tmp_path)).code == 0
        narrowed = run_cli(command, str(project / "sub" / "up.pipe"), "--root", str(project / "sub"))
        assert narrowed.code == 1 and "leaves the project root" in narrowed.output


def _options(command: str) -> set[str]:
    parser = build_parser(command)
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices[command]._option_string_actions)


def test_every_flag_a_refusal_suggests_is_taken_by_the_commands_it_names(tmp_path: Path) -> None:
    """The include refusal (compiler/loader.py) and the file refusal (fileaccess.py) name flags per command."""
    project = layout(tmp_path)
    include = _help_lines(run_cli("lint", str(project / "escape.pipe")).out)
    outside_file = _help_lines(run_cli("lint", "--root", str(project / "sub"), str(project / "ok.pipe")).out)
    assert include and outside_file
    checked = 0
    for line in include + outside_file:
        for flag, commands in re.findall(r"`(--[a-z-]+)[^`]*` \(([a-z, ]+)\)", line):
            names = [c.strip() for c in commands.split(",")]
            assert "lint" in names or flag == "--allow-outside-root", line  # true for the command that printed it
            for command in names:
                assert flag in _options(command), f"{command} has no {flag}, yet {line!r} says it does"
                checked += 1
        assert not re.search(r"pass --[a-z-]+", line), line  # no bare "pass --flag" that a command may lack
    assert checked >= 10
