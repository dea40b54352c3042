"""The front end under generated input: diagnostics or success, never a traceback.

Every example goes through the real command line (``hookpipe check``) in-process,
so the path under test is what a CI job on an untrusted pull request runs (check,
then lint). The
budget is fixed by the hypothesis profile (tests/conftest.py): 2,000 inputs per
``.ci/run``, derandomized; ``HYPOTHESIS_PROFILE=campaign`` runs a long one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.fuzz.budget import examples
from tests.fuzz.pipes import mutated, pipelines
from tests.helpers import run_cli

pytestmark = pytest.mark.slow  # fuzzing

COMMANDS: tuple[tuple[str, ...], ...] = (("check",), ("lint",))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "pyproject.toml").write_text("")
    return root


def assert_clean_outcome(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    for command in COMMANDS:
        result = run_cli(*command, str(path))
        code, text = result.code, result.output
        assert code in (0, 1), (command, code, text, data)  # lint: 1 for findings, 2 would be an internal error
        assert "Traceback" not in text, (command, text, data)
        if code == 1:
            assert "error" in text, (command, text, data)


@settings(max_examples=examples(700))
@given(source=pipelines())
def test_generated_pipelines_end_in_diagnostics_or_success(work: Path, source: str) -> None:
    assert_clean_outcome(work / "gen.pipe", source.encode("utf-8"))


@settings(max_examples=examples(1300))
@given(data=mutated())
def test_mutated_pipelines_end_in_diagnostics(work: Path, data: bytes) -> None:
    assert_clean_outcome(work / "mut.pipe", data)
