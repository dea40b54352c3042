"""The issue's pathological inputs: each ends within 5 s with a clear outcome.

Timed through ``hookpipe check`` in-process, the path CI runs on a pull request.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.slow  # huge generated inputs, timed

HEAD = "trainer {\n    max_step = 1\n}\n"
LIMIT_S = 5.0


def _nested_braces(root: Path) -> Path:
    p = root / "braces.pipe"
    p.write_text("loop " + "{ " * 10_000 + "}" * 10_000 + "\n")
    return p


def _ten_mb(root: Path) -> Path:
    p = root / "big.pipe"
    line = "# " + "x" * 97 + "\n"
    p.write_text(HEAD + line * (10 * 1024 * 1024 // len(line)))
    return p


def _one_mb_line(root: Path) -> Path:
    p = root / "line.pipe"
    p.write_text(HEAD + 'use m = "' + "a" * (1024 * 1024) + '"\n')
    return p


def _orders(root: Path) -> Path:
    p = root / "orders.pipe"
    p.write_text(HEAD + "hook a = loss_log()\nhook b = throughput()\nloop { epoch { step { after {\n a\n b\n} } } }\n"
                 + "order a before b\n" * 100_000)
    return p


def _include_chain(root: Path) -> Path:
    for i in range(1000):
        body = f'include "f{i + 1}.pipe"\n' if i < 999 else HEAD
        (root / f"f{i}.pipe").write_text(body + f"hook h{i} = loss_log()\n")
    return root / "f0.pipe"


CASES = {
    "10,000 nested braces": (_nested_braces, 1, "HP001 error"),
    "10 MB file": (_ten_mb, 1, "too large"),
    "1 MB line": (_one_mb_line, 1, "characters long"),
    "100,000 order statements": (_orders, 0, "ok (plan"),
    "include chain 1,000 files deep": (_include_chain, 1, "files deep"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_pathological_input_is_bounded(tmp_path: Path, case: str) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    make, expected_code, expected_text = CASES[case]
    path = make(tmp_path)
    started = time.perf_counter()
    result = run_cli("check", str(path))
    code, text = result.code, result.output
    elapsed = time.perf_counter() - started
    assert (code, "Traceback" in text) == (expected_code, False), text[:2000]
    assert expected_text in text, text[:2000]
    assert elapsed < LIMIT_S, f"{case}: {elapsed:.2f} s"
    print(f"{case}: {elapsed:.3f} s")
