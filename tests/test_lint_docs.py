"""docs/rules/ has one page per code, the package ships the same pages, and their examples hold."""

from __future__ import annotations

import re
import shutil
import sys
from importlib import resources

import pytest

from tests.helpers import FIXTURES, ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from hookpipe.lint.codes import CODES
from hookpipe.lint.pages import page, section
from hookpipe.lint.rules import RULES
from hookpipe.lint.runner import lint_paths

RULE_DOCS = ROOT / "docs" / "rules"
_BLOCK = re.compile(r"```pipe\n(.*?)```", re.S)


def test_every_code_has_a_page_and_no_page_lacks_a_code():
    pages = {p.stem for p in RULE_DOCS.glob("*.md")}
    assert pages == {c.code for c in CODES}


def test_the_registry_and_the_code_table_agree():
    warnings = [c.code for c in CODES if c.severity == "warning"]
    assert [r.code for r in RULES] == warnings  # HP110 included: it judges the suppressions
    assert [c.code for c in CODES] == sorted(c.code for c in CODES)
    assert all(c.severity == ("error" if c.code < "HP100" else "warning") for c in CODES)


@pytest.mark.parametrize("code", CODES, ids=lambda c: c.code)
def test_page_structure_matches_the_registry(code):
    text = (RULE_DOCS / f"{code.code}.md").read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# {code.code}: {code.title}"
    assert f"Severity: {code.severity}" in text
    for name in ("What", "Why", "Failing example", "Fix"):
        assert section(code.code, name)


@pytest.mark.parametrize("code", CODES, ids=lambda c: c.code)
def test_the_shipped_page_is_the_docs_page(code):
    shipped = resources.files("hookpipe.rule_docs").joinpath(f"{code.code}.md").read_text(encoding="utf-8")
    assert shipped == (RULE_DOCS / f"{code.code}.md").read_text(encoding="utf-8") == page(code.code)


def test_pyproject_ships_docs_rules_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "hookpipe.rule_docs" in config["packages"]
    assert config["package-dir"]["hookpipe.rule_docs"] == "docs/rules"
    assert config["package-data"]["hookpipe.rule_docs"] == ["*.md"]


@pytest.mark.parametrize("code", CODES, ids=lambda c: c.code)
def test_the_failing_example_fails_with_its_code_and_the_fix_is_clean(code, tmp_path):
    shutil.copytree(FIXTURES / "lint" / "parts", tmp_path / "parts")
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    failing = _BLOCK.findall(section(code.code, "Failing example"))
    fixed = _BLOCK.findall(section(code.code, "Fix"))
    assert len(failing) == len(fixed) == 1
    (tmp_path / "fail.pipe").write_text(failing[0], encoding="utf-8")
    (tmp_path / "fix.pipe").write_text(fixed[0], encoding="utf-8")
    assert [d.code for d in lint_paths([str(tmp_path / "fail.pipe")], jobs=1).diagnostics] == [code.code]
    assert lint_paths([str(tmp_path / "fix.pipe")], jobs=1).diagnostics == []
