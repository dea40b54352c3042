"""Every diagnostic the compiler emits, from a .pipe input with its exact expected output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import check_golden, compile_fixture, fixtures

CASES = fixtures("diagnostics")


@pytest.mark.parametrize("pipe", CASES, ids=[p.stem for p in CASES])
def test_fixture(pipe: Path) -> None:
    actual = compile_fixture(pipe)
    check_golden(pipe, actual)
    # The file name says which code the fixture is about; it must be reported.
    code = pipe.stem.split("_")[0]
    if code.startswith("HP"):
        assert f" {code} error:" in actual


def test_every_compiler_code_has_a_fixture() -> None:
    codes = {p.stem.split("_")[0] for p in CASES}
    assert {f"HP{n:03d}" for n in range(1, 12)} <= codes
