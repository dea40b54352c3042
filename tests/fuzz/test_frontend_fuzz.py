"""The front end under generated input: diagnostics or success, never a traceback.

Every example goes through the real command line (``hookpipe check``) in-process,
so the path under test is what a CI job on an untrusted pull request runs (check,
then lint). ``tests/fuzz/hostile_fs.py`` adds what a pull request can commit
besides text (symlinks, FIFOs, sparse files, odd names, huge numbers). The
budget is fixed by the hypothesis profile (tests/conftest.py): 2,000 inputs per
``.ci/run``, derandomized; ``HYPOTHESIS_PROFILE=campaign`` runs a long one.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.fuzz import hostile_fs
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


@settings(max_examples=examples(150))
@given(layout=hostile_fs.layouts)
def test_file_system_hostility_never_leaks_hangs_or_crashes(tmp_path_factory: pytest.TempPathFactory,
                                                           layout: hostile_fs.Layout) -> None:
    root = tmp_path_factory.getbasetemp() / "hostile"
    argv = hostile_fs.build(root, layout)
    os.environ["HOOKPIPE_FUZZ_TOKEN"] = hostile_fs.SECRET
    commands = [("check",), ("lint",), ("lint", "--format", "github"), ("lint", "--format", "sarif"),
                ("explain",), ("fmt", "--diff"), ("render", "-o", str(root / "out.dot"))]
    for command in commands:
        signal.alarm(20)  # a blocked open would hang the suite: fail instead
        try:
            result = run_cli(*command, *argv)
            code, text = result.code, result.output
        finally:
            signal.alarm(0)
        assert code in (0, 1, 2), (command, code, text, layout)
        assert "Traceback" not in text and "internal error" not in text, (command, text, layout)
        assert hostile_fs.SECRET not in text, (command, text, layout)
        if command[-1] == "github" or "github" in command:
            head = text.partition("::stop-commands::")[0]
            assert all(line.startswith(("::error ", "::warning ")) for line in head.splitlines()), (text, layout)
