"""Every code has a failing fixture and a passing twin, checked through the json output."""

from __future__ import annotations

import json

import pytest

from hookpipe.cli import main
from hookpipe.lint.codes import CODES
from tests.helpers import load_fixtures

FIXTURES = load_fixtures("lint")


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_fixture_reports_exactly_what_it_expects(fixture, capsys):
    status = main(["lint", "--format", "json", str(fixture.path)])
    report = json.loads(capsys.readouterr().out)
    found = [(d["code"], d["severity"], d["line"], d["column"]) for d in report["diagnostics"]]
    assert found == list(fixture.expected)
    assert status == (1 if any(sev == "error" for _, sev, _, _ in fixture.expected) else 0)


def test_every_code_has_a_failing_fixture_and_a_passing_twin():
    names = {f.name for f in FIXTURES}
    for code in CODES:
        assert f"{code.code}_fail" in names, code.code
        assert f"{code.code}_pass" in names, code.code


def test_failing_fixtures_name_their_own_code_and_passing_twins_are_clean():
    for fixture in FIXTURES:
        if fixture.name.endswith("_fail"):
            assert [c for c, *_ in fixture.expected] == [fixture.code]
        else:
            assert fixture.expected == ()


def test_a_folder_lints_every_fixture_and_skips_included_fragments(capsys):
    status = main(["lint", "--format", "json", str(FIXTURES[0].path.parent)])
    report = json.loads(capsys.readouterr().out)
    assert status == 1
    assert not any(f.endswith("parts/optimizer.pipe") for f in report["files"])
    assert len(report["files"]) == len(FIXTURES)
    expected = sorted((str(f.path), *e) for f in FIXTURES for e in f.expected)
    found = [(d["file"], d["code"], d["severity"], d["line"], d["column"]) for d in report["diagnostics"]]
    assert sorted(found) == expected
    assert found == sorted(found, key=lambda d: (d[0], d[3], d[4], d[1]))
