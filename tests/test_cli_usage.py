"""Usage errors name the command that was run and say what is valid, escaped like any other output."""

from __future__ import annotations

import pytest

from hookpipe.cli import COMMANDS, MODULE_OF
from hookpipe.lint import codes, config
from hookpipe.lint.codes import Code
from tests.helpers import run_cli

NAMES = [module.rsplit(".", 1)[1] for module in COMMANDS]
NAMES = [next((k for k, v in MODULE_OF.items() if v == name), name) for name in NAMES]


@pytest.mark.parametrize("command", NAMES)
def test_an_unknown_flag_prints_the_usage_of_the_command_it_was_given_to(command: str) -> None:
    result = run_cli(command, "x.pipe", "--no-such-flag")
    assert result.code == 2 and result.out == ""
    first = result.err.splitlines()[0]
    assert first.startswith(f"usage: hookpipe {command} [-h]"), result.err  # not `hookpipe [-h] [--version] {...}`
    last = result.err.rstrip().splitlines()[-1]
    assert last.startswith("hookpipe: error: "), result.err  # `import x.pipe`: KIND is checked first


def test_the_lint_usage_lists_its_own_flags() -> None:
    result = run_cli("lint", "--allow-outside-roots", ".")
    usage = " ".join(result.err.split())
    assert "usage: hookpipe lint [-h]" in usage and "[--root DIR] [--allow-outside-root]" in usage, usage
    assert "{check" not in usage and "{lint}" not in usage


def test_argument_errors_are_escaped() -> None:
    result = run_cli("lint", "--format", "x\x1b[31m\n::error::forged", "a.pipe")
    assert result.code == 2
    assert "\x1b" not in result.err and "\\x1b[31m" in result.err
    assert not any(line.startswith("::") for line in result.err.splitlines()), result.err
    result = run_cli("lint", "a.pipe", "--bad\n::error::forged")
    assert "unrecognized arguments: --bad\\n::error::forged" in result.err, result.err


def test_an_unknown_code_lists_the_codes_from_the_codes_table(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "t.pipe").write_text("trainer { max_step = 10 }\nhook o = optimizer()\n"
                                     "loop { epoch { step { after { o } } } }\n")
    explained = run_cli("lint", "--explain", "HP999")
    assert explained.code == 2
    assert "no such code `HP999` (codes are HP001-HP011 and HP101-HP113)" in explained.err
    assert "--help" not in explained.err  # the help did not list them
    selected = run_cli("lint", "--select", "HP999", str(tmp_path / "t.pipe"))
    assert selected.code == 2 and "unknown code `HP999` (codes are HP001-HP011 and HP101-HP113;" in selected.err
    # Derived, not written out: a new code shows up in the messages by itself.
    monkeypatch.setattr(config, "CODES", (*codes.CODES, Code("HP114", "warning", "new"), Code("HP120", "warning", "x")))
    assert config.code_ranges() == "HP001-HP011, HP101-HP114 and HP120"
    assert "codes are HP001-HP011, HP101-HP114 and HP120" in run_cli("lint", "--explain", "HP999").err
    assert config.code_ranges("error") == "HP001-HP011"


def test_the_lint_help_lists_the_codes() -> None:
    result = run_cli("lint", "--help")
    text = " ".join(result.out.split())
    assert "HP101-HP113" in text and "HP001-HP011" in text
