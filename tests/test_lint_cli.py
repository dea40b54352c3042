"""Rule selection, pyproject configuration, suppressions and exit codes of ``hookpipe lint``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hookpipe.cli import main
from tests.helpers import FIXTURES

LINT = FIXTURES / "lint"
#: HP103 (save unattached) and HP101 (check every 5000 steps in a 1000-step run).
TWO_WARNINGS = """\
trainer { max_step = 1000 }
hook optimize = optimizer()
hook save = checkpoint(dir = "runs/x")
hook check = checkpoint(dir = "runs/y")

loop { epoch { step { after {
    optimize -> check every 5000 steps
} } } }
"""


def lint_json(capsys, *argv: str) -> tuple[int, list[tuple[str, str, int]]]:
    status = main(["lint", "--format", "json", *argv])
    out = capsys.readouterr().out
    report = json.loads(out) if out else {"diagnostics": []}
    return status, [(d["code"], d["severity"], d["line"]) for d in report["diagnostics"]]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    Path("train.pipe").write_text(TWO_WARNINGS, encoding="utf-8")
    return tmp_path


def test_warnings_alone_exit_0(project, capsys):
    assert lint_json(capsys, "train.pipe") == (0, [("HP103", "warning", 3), ("HP101", "warning", 7)])


def test_warnings_as_errors_promotes_and_fails(project, capsys):
    assert lint_json(capsys, "--warnings-as-errors", "train.pipe") == (
        1, [("HP103", "error", 3), ("HP101", "error", 7)])


def test_select_and_ignore_take_codes_and_prefixes(project, capsys):
    assert lint_json(capsys, "--select", "HP101", "train.pipe") == (0, [("HP101", "warning", 7)])
    assert lint_json(capsys, "--select", "HP10", "--ignore", "HP101,HP102", "train.pipe") == (
        0, [("HP103", "warning", 3)])
    assert lint_json(capsys, "--ignore", "HP1", "train.pipe") == (0, [])


def test_errors_are_always_reported(project, capsys):
    Path("bad.pipe").write_text("trainer { max_step = 10 }\nhook o = optimzer()\n", encoding="utf-8")
    assert lint_json(capsys, "--ignore", "ALL", "bad.pipe") == (1, [("HP002", "error", 2)])


def test_pyproject_table_configures_and_flags_replace_its_keys(project, capsys):
    Path("pyproject.toml").write_text(
        "[tool.hookpipe.lint]\nignore = ['HP103']\nwarnings-as-errors = true\n", encoding="utf-8")
    assert lint_json(capsys, "train.pipe") == (1, [("HP101", "error", 7)])
    assert lint_json(capsys, "--ignore", "HP101", "train.pipe") == (1, [("HP103", "error", 3)])


def test_the_nearest_pyproject_applies_per_file(project, capsys):
    Path("pyproject.toml").write_text("[tool.hookpipe.lint]\nselect = ['HP103']\n", encoding="utf-8")
    Path("sub").mkdir()
    Path("sub/pyproject.toml").write_text("[tool.hookpipe.lint]\nselect = ['HP101']\n", encoding="utf-8")
    shutil.copy("train.pipe", "sub/train.pipe")
    status = main(["lint", "--format", "json", "."])
    found = [(d["file"], d["code"]) for d in json.loads(capsys.readouterr().out)["diagnostics"]]
    assert status == 0
    assert found == [("sub/train.pipe", "HP101"), ("train.pipe", "HP103")]


@pytest.mark.parametrize("table, message", [
    ("[tool.hookpipe.lint]\nselect = ['HP999']\n", "unknown code `HP999`"),
    ("[tool.hookpipe.lint]\nselct = ['HP101']\n", "unknown key `selct`"),
    ("[tool.hookpipe.lint]\nselect = 'HP101'\n", "must be a list of codes"),
    ("[tool.hookpipe.lint]\nwarnings-as-errors = 'yes'\n", "must be true or false"),
    ("[tool.hookpipe.lint\n", "cannot read it"),
    ('tool = "x"\n', "[tool] must be a table, not a string"),
    ("[tool]\nhookpipe = 1\n", "[tool.hookpipe] must be a table, not an integer"),
    ("[tool.hookpipe]\nlint = [1]\n", "[tool.hookpipe.lint] must be a table, not an array"),
    ("[tool.hookpipe]\nignore = ['HP103']\n",
     "unknown key `ignore` in [tool.hookpipe] (`ignore` belongs in [tool.hookpipe.lint]"),
    ("[tool.hookpipe]\nwarnings-as-errors = true\n[tool.hookpipe.lint]\nselect = ['HP1']\n",
     "unknown key `warnings-as-errors` in [tool.hookpipe] (`warnings-as-errors` belongs in [tool.hookpipe.lint]"),
    ("[tool.hookpipe.fmt]\nline = 1\n",
     "unknown key `fmt` in [tool.hookpipe] (hookpipe reads only the table [tool.hookpipe.lint])"),
])
def test_bad_configuration_is_a_usage_error(project, capsys, table, message):
    Path("pyproject.toml").write_text(table, encoding="utf-8")
    assert main(["lint", "train.pipe"]) == 2
    assert message in capsys.readouterr().err


def test_a_misplaced_lint_key_names_the_file_and_is_not_ignored(project, capsys):
    """`[tool.hookpipe] ignore = [...]` used to be skipped silently: HP103 was reported as if unconfigured."""
    Path("pyproject.toml").write_text("[tool.hookpipe]\nignore = ['HP103']\n", encoding="utf-8")
    assert main(["lint", "--format", "json", "train.pipe"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"hookpipe: error: {project.resolve() / 'pyproject.toml'}: unknown key `ignore`")
    Path("pyproject.toml").write_text("[tool.hookpipe.lint]\nignore = ['HP103']\n", encoding="utf-8")
    assert lint_json(capsys, "train.pipe") == (0, [("HP101", "warning", 7)])
    Path("pyproject.toml").write_text('[tool.hookpipe]\n"x\\u001b]8;;y" = 1\n', encoding="utf-8")
    assert main(["lint", "train.pipe"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "unknown key `x\\x1b]8;;y` in [tool.hookpipe]" in err, err


@pytest.mark.parametrize("argv, message", [
    (["--select", "HPX"], "unknown code `HPX`"),
    (["missing.pipe"], "missing.pipe: no such file or directory"),
    (["--explain", "HP000"], "no such code"),
])
def test_usage_errors_exit_2(project, capsys, argv, message):
    args = argv if argv and not argv[0].startswith("--select") else [*argv, "train.pipe"]
    assert main(["lint", *args]) == 2
    assert message in capsys.readouterr().err


def test_no_path_is_a_usage_error(capsys):
    assert main(["lint"]) == 2
    assert "at least one PATH" in capsys.readouterr().err


def test_bad_flag_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--format", "xml", "x.pipe"])
    assert exc.value.code == 2
    assert "argument --format/--output-format: invalid choice: 'xml'" in capsys.readouterr().err


def test_suppressions_apply_to_their_line_only(project, capsys):
    text = TWO_WARNINGS.replace('"runs/x")', '"runs/x")  # hookpipe: ignore[HP103]')
    Path("train.pipe").write_text(text, encoding="utf-8")
    assert lint_json(capsys, "train.pipe") == (0, [("HP101", "warning", 7)])
    text = text.replace("5000 steps", "5000 steps  # hookpipe: ignore[HP101, HP107]")
    Path("train.pipe").write_text(text, encoding="utf-8")
    assert lint_json(capsys, "train.pipe") == (0, [("HP110", "warning", 7)])


def test_errors_cannot_be_suppressed_and_unknown_codes_are_reported(project, capsys):
    text = TWO_WARNINGS.replace("hook optimize", "# hookpipe: ignore[HP002, HPX1]\nhook optimize")
    text = text.replace('"runs/x")', '"runs/x")  # hookpipe: ignore[HP103]')
    Path("train.pipe").write_text(text, encoding="utf-8")
    status = main(["lint", "--format", "json", "train.pipe"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(d["code"], d["line"], d["message"]) for d in report["diagnostics"]] == [
        ("HP110", 2, "unused suppression: HP002 is an error, and errors cannot be suppressed"),
        ("HP110", 2, "unused suppression: `HPX1` is not a hookpipe code"),
        ("HP101", 8, "`check` never fires: its first firing is step 5000, but the run has at most 1000 steps"),
    ]


def test_suppressing_a_deselected_code_is_not_reported_as_unused(project, capsys):
    text = TWO_WARNINGS.replace('"runs/x")', '"runs/x")  # hookpipe: ignore[HP103]')
    Path("train.pipe").write_text(text, encoding="utf-8")
    assert lint_json(capsys, "--select", "HP101,HP110", "train.pipe") == (0, [("HP101", "warning", 7)])


def test_include_fragments_are_linted_through_their_includer(project, capsys):
    Path("parts").mkdir()
    Path("parts/hooks.pipe").write_text('hook save = checkpoint(dir = "runs/x")\n', encoding="utf-8")
    Path("main.pipe").write_text('include "parts/hooks.pipe"\ntrainer { max_step = 10 }\n'
                                 'hook o = optimizer()\nloop { epoch { step { after { o } } } }\n', encoding="utf-8")
    Path("train.pipe").unlink()
    status = main(["lint", "--format", "json", "."])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["files"] == ["main.pipe"]
    assert [(d["file"], d["code"], d["line"]) for d in report["diagnostics"]] == [("parts/hooks.pipe", "HP103", 1)]


def test_a_named_fragment_is_linted_through_its_named_includer(project, capsys):
    Path("hooks.pipe").write_text('hook save = checkpoint(dir = "runs/x")\n', encoding="utf-8")
    Path("main.pipe").write_text('include "hooks.pipe"\ntrainer { max_step = 10 }\n'
                                 'hook o = optimizer()\nloop { epoch { step { after { o } } } }\n', encoding="utf-8")
    status = main(["lint", "--format", "json", "hooks.pipe", "main.pipe"])
    report = json.loads(capsys.readouterr().out)
    assert (status, report["files"]) == (0, ["main.pipe"])
    assert [(d["file"], d["code"]) for d in report["diagnostics"]] == [("hooks.pipe", "HP103")]


def test_files_that_include_each_other_are_both_linted(project, capsys):
    Path("a.pipe").write_text('include "b.pipe"\n', encoding="utf-8")
    Path("b.pipe").write_text('include "a.pipe"\n', encoding="utf-8")
    Path("train.pipe").unlink()
    status = main(["lint", "--format", "json", "--select", "HP010", "."])
    report = json.loads(capsys.readouterr().out)
    assert (status, report["files"]) == (1, ["a.pipe", "b.pipe"])
    assert [(d["file"], d["code"]) for d in report["diagnostics"] if d["code"] == "HP010"] == [
        ("a.pipe", "HP010"), ("b.pipe", "HP010")]


def test_a_folder_without_pipelines_says_so(project, capsys):
    Path("empty").mkdir()
    assert main(["lint", "empty"]) == 0
    captured = capsys.readouterr()
    assert "no .pipe files found" in captured.err
    assert "0 files checked, no findings" in captured.out


def test_explain_prints_the_page(capsys):
    assert main(["lint", "--explain", "hp104"]) == 0
    out = capsys.readouterr().out
    assert out == (Path(__file__).parent.parent / "docs/rules/HP104.md").read_text(encoding="utf-8")


def test_an_internal_error_exits_2(project, capsys, monkeypatch):
    def broken(ctx, enabled):
        raise RuntimeError("boom")

    monkeypatch.setattr("hookpipe.lint.runner.run_rules", broken)
    assert main(["lint", "--jobs", "1", "train.pipe"]) == 2
    err = capsys.readouterr().err
    assert "internal error" in err and "RuntimeError: boom" in err


def test_exit_zero_keeps_the_report_and_exits_0_but_not_on_a_usage_error(project, capsys):
    assert main(["lint", "--warnings-as-errors", "train.pipe"]) == 1
    failing = capsys.readouterr().out
    assert main(["lint", "--warnings-as-errors", "--exit-zero", "train.pipe"]) == 0
    assert capsys.readouterr().out == failing  # the same two errors, reported
    assert main(["lint", "--exit-zero", "missing.pipe"]) == 2


def test_output_format_is_rufs_name_for_format(project, capsys):
    assert main(["lint", "--output-format", "json", "train.pipe"]) == 0
    codes = sorted(d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"])
    assert codes == ["HP101", "HP103"]


def test_statistics_count_each_code_most_frequent_first(project, capsys):
    Path("more.pipe").write_text(TWO_WARNINGS.replace("check every 5000 steps", "check every 6000 steps"),
                                 encoding="utf-8")
    assert main(["lint", "--statistics", "train.pipe", "more.pipe"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["2  HP101  warning  a hook never fires within the run",
                     "2  HP103  warning  a hook declared but never attached",
                     "hookpipe lint: 2 files checked, 0 errors, 4 warnings"]
    assert main(["lint", "--statistics", "--format", "json", "--warnings-as-errors", "--select", "HP101",
                 "train.pipe"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"code": "HP101", "severity": "error", "title": "a hook never fires within the run", "count": 1}]
    assert main(["lint", "--statistics", "--format", "sarif", "train.pipe"]) == 2
    assert "--statistics" in capsys.readouterr().err
