"""The github and sarif outputs: what GitHub reads, escaping, and the SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from hookpipe.cli import main
from hookpipe.diagnostics import Diagnostic, Note
from hookpipe.dsl.span import Span
from hookpipe.lint.codes import CODES
from hookpipe.lint.formats.github import annotation
from tests.helpers import FIXTURES, ROOT, run_cli

DATA = Path(__file__).parent / "data"
DOCS = Path(__file__).parent.parent / "docs"
LINT = FIXTURES / "lint"
#: The documented format: ::level key=value,key=value::message
_COMMAND = re.compile(r"^::(?P<level>error|warning) (?P<props>[^:]*)::(?P<message>.*)$")


def _unescape(value: str) -> str:
    return (value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    m = _COMMAND.match(line)
    assert m is not None, line
    props = dict(part.split("=", 1) for part in m["props"].split(","))
    return m["level"], {k: _unescape(v) for k, v in props.items()}, _unescape(m["message"])


def run(*argv: str) -> tuple[int, str]:
    result = run_cli("lint", *argv)
    return result.code, result.out


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


# --- github ------------------------------------------------------------------------


def test_github_annotations_parse_back_and_the_text_report_follows(capsys):
    status, out = run("--format", "github", str(LINT / "HP108_fail.pipe"), str(LINT / "HP002_fail.pipe"))
    assert status == 1
    head, stop, report = out.partition("::stop-commands::")
    token, _, report = report.partition("\n")
    parsed = [parse_command(line) for line in head.splitlines()]
    # the text report quotes untrusted text: the runner reads no command inside it
    assert stop and report.endswith(f"::{token}::\n") and token not in report[: -len(token) - 5]
    assert [(level, p["title"], p["line"], p["col"]) for level, p, _ in parsed] == [
        ("error", "HP002", "5", "16"),
        ("warning", "HP108", "10", "5"),
    ]
    level, props, message = parsed[1]
    # annotations name files relative to the repository root (GitHub resolves them there)
    assert props["file"] == (LINT / "HP108_fail.pipe").relative_to(ROOT).as_posix()
    assert props["endLine"] == "10" and props["endColumn"] == "25"
    assert message.startswith("checkpoint `save` records metrics at step 500")
    assert "\nhelp: " in message
    # the full text report, for the annotations GitHub does not show
    assert f"{LINT / 'HP108_fail.pipe'}:10:5: HP108 warning:" in out
    assert report.rstrip().splitlines()[-2].endswith("1 error, 1 warning")


def test_github_escapes_percent_newlines_and_property_separators():
    span = Span("dir,a:b/x%.pipe", 3, 4, 3, 9)
    d = Diagnostic("HP107", "warning", "100% wrong\r\nreally", span, (Note("see: here, there"),), "fix it")
    line = annotation(d)
    assert "\n" not in line and "\r" not in line
    head, message = line.split("::")[1:]
    assert "dir%2Ca%3Ab/x%25.pipe" in head
    # the message's own CR LF (a value from a file) is escaped visibly first, then nothing is left to %-encode
    assert message.startswith("100%25 wrong\\r\\nreally%0Anote")
    level, props, text = parse_command(line)
    assert level == "warning"
    assert props == {"file": "dir,a:b/x%.pipe", "line": "3", "col": "4", "endLine": "3", "endColumn": "9",
                     "title": "HP107"}
    assert text == "100% wrong\\r\\nreally\nnote: see: here, there\nhelp: fix it"


# --- sarif -------------------------------------------------------------------------


def test_sarif_log_validates_against_the_2_1_0_schema_with_formats_checked(capsys):
    status, out = run("--format", "sarif", str(LINT))
    assert status == 1
    log = json.loads(out)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert errors == []
    assert log["version"] == "2.1.0"


def test_the_schema_check_really_checks_uri_formats(capsys):
    _, out = run("--format", "sarif", str(LINT / "HP101_fail.pipe"))
    log = json.loads(out)
    log["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = "not a uri"
    messages = [e.message for e in sarif_validator().iter_errors(log)]
    assert any("is not a 'uri'" in m for m in messages)


def test_sarif_carries_what_github_code_scanning_reads(capsys):
    _, out = run("--format", "sarif", str(LINT / "HP105_fail.pipe"))
    run_ = json.loads(out)["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.code for c in CODES]
    for rule, code in zip(rules, CODES):
        assert rule["shortDescription"]["text"] == code.title
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"].startswith(f"# {code.code}: ")
        assert rule["help"]["markdown"] == rule["help"]["text"]
        assert rule["helpUri"].endswith(f"/docs/rules/{code.code}.md")
        assert rule["defaultConfiguration"]["level"] == code.severity
    assert run_["columnKind"] == "unicodeCodePoints"
    (result,) = run_["results"]
    assert result["ruleId"] == "HP105"
    assert rules[result["ruleIndex"]]["id"] == "HP105"
    assert result["level"] == "warning"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": (LINT / "HP105_fail.pipe").relative_to(Path.cwd()).as_posix(),
                                            "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 11, "startColumn": 5, "endLine": 11, "endColumn": 10}
    assert re.fullmatch(r"[0-9a-f]{32}:1", result["partialFingerprints"]["primaryLocationLineHash"])
    assert result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 9


def test_sarif_fingerprints_survive_lines_moving(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = (LINT / "HP103_fail.pipe").read_text(encoding="utf-8")
    Path("a.pipe").write_text(source, encoding="utf-8")
    _, first = run("--format", "sarif", "a.pipe")
    Path("a.pipe").write_text("# a new first line\n\n" + source, encoding="utf-8")
    _, second = run("--format", "sarif", "a.pipe")
    one, two = (json.loads(o)["runs"][0]["results"][0] for o in (first, second))
    assert two["locations"][0]["physicalLocation"]["region"]["startLine"] == \
        one["locations"][0]["physicalLocation"]["region"]["startLine"] + 2
    assert one["partialFingerprints"] == two["partialFingerprints"]


# --- paths from a subfolder ----------------------------------------------------------


def _repository(tmp_path: Path) -> Path:
    """A repository (``.git``) with a project in ``sub/`` whose ``x.pipe`` has one HP103 finding."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    (repo / "sub" / "pyproject.toml").write_text("", encoding="utf-8")
    (repo / "sub" / "x.pipe").write_text((LINT / "HP103_fail.pipe").read_text(encoding="utf-8"), encoding="utf-8")
    return repo


@pytest.mark.parametrize("cwd", ["sub", ".", "deeper"])
def test_github_and_sarif_name_files_from_the_repository_root_whatever_the_working_directory(
        cwd, tmp_path, capsys, monkeypatch):
    repo = _repository(tmp_path)
    (repo / "deeper").mkdir()
    monkeypatch.chdir(repo / cwd)
    named = {"sub": "x.pipe", ".": "sub/x.pipe", "deeper": "../sub/x.pipe"}[cwd]
    _, out = run("--format", "github", named)
    (_, props, _), = [parse_command(line) for line in out.partition("::stop-commands::")[0].splitlines()]
    assert props["file"] == "sub/x.pipe"
    _, out = run("--format", "sarif", named)
    run_ = json.loads(out)["runs"][0]
    (result,) = run_["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "sub/x.pipe",
                                                                              "uriBaseId": "%SRCROOT%"}
    assert run_["artifacts"] == [{"location": {"uri": "sub/x.pipe", "uriBaseId": "%SRCROOT%"}}]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.as_uri() + "/"
    assert sorted(sarif_validator().iter_errors(json.loads(out)), key=str) == []


def test_sarif_fingerprints_do_not_depend_on_the_working_directory(tmp_path, capsys, monkeypatch):
    repo = _repository(tmp_path)
    monkeypatch.chdir(repo / "sub")
    _, inside = run("--format", "sarif", "x.pipe")
    monkeypatch.chdir(repo)
    _, above = run("--format", "sarif", "sub/x.pipe")
    assert json.loads(inside)["runs"][0]["results"] == json.loads(above)["runs"][0]["results"]


def test_without_a_repository_files_are_named_from_the_working_directory(tmp_path, capsys, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.pipe").write_text((LINT / "HP103_fail.pipe").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    monkeypatch.chdir(tmp_path / "sub")
    _, out = run("--format", "github", "x.pipe")
    (_, props, _), = [parse_command(line) for line in out.partition("::stop-commands::")[0].splitlines()]
    assert props["file"] == "x.pipe"


def test_a_file_outside_the_repository_keeps_its_name_and_gets_a_file_uri(tmp_path, capsys, monkeypatch):
    repo = _repository(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "pyproject.toml").write_text("", encoding="utf-8")
    (outside / "y.pipe").write_text((LINT / "HP103_fail.pipe").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(repo / "sub")
    _, out = run("--format", "github", "../../elsewhere/y.pipe")
    (_, props, _), = [parse_command(line) for line in out.partition("::stop-commands::")[0].splitlines()]
    assert props["file"] == "../../elsewhere/y.pipe"
    _, out = run("--format", "sarif", "../../elsewhere/y.pipe")
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": (outside / "y.pipe").as_uri()}


# --- json and text -----------------------------------------------------------------


def test_json_output_matches_its_documented_schema_and_is_deterministic(capsys):
    schema = json.loads((DOCS / "lint-json.schema.json").read_text(encoding="utf-8"))
    _, first = run("--format", "json", "--jobs", "1", str(LINT))
    _, second = run("--format", "json", "--jobs", "2", str(LINT))
    assert first == second
    report = json.loads(first)
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(report)
    assert report["summary"]["failed"] is True
    assert report["summary"]["errors"] == sum(d["severity"] == "error" for d in report["diagnostics"])


def test_text_output_is_coloured_only_when_asked(capsys):
    path = str(LINT / "HP107_fail.pipe")
    _, plain = run(path)
    _, coloured = run("--color", "always", path)
    assert "\033[" not in plain
    assert "\033[1;33mHP107 warning:" in coloured
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == plain
    assert plain.startswith(f"{path}:8:5: HP107 warning: `save` is attached twice in step.after\n")
    assert "  |     ^^^^^^^^^^^^^^^^^^^^" in plain


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_output_file_gets_the_report(fmt, tmp_path, capsys):
    target = tmp_path / "report.out"
    status = main(["lint", "--format", fmt, "-o", str(target), str(LINT / "HP103_fail.pipe")])
    assert status == 0
    assert capsys.readouterr().out == ""
    assert "HP103" in target.read_text(encoding="utf-8")
