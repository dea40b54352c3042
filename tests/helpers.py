"""Fixture loading shared by the tests (STYLE.md point 10).

A fixture is ``tests/fixtures/<area>/<name>.pipe`` whose leading ``# expect:``
comments state the expected diagnostics as ``CODE severity line:column``, or
``# expect: clean``. Failing fixtures are named ``HPxxx_fail.pipe`` and their
passing twins ``HPxxx_pass.pipe``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
_EXPECT = re.compile(r"^# expect: (?:(?P<clean>clean)|(?P<code>HP\d{3}) (?P<severity>error|warning) (?P<line>\d+):(?P<column>\d+))\s*$")

Expected = tuple[str, str, int, int]  # (code, severity, line, column)


@dataclass(frozen=True)
class Fixture:
    path: Path
    expected: tuple[Expected, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def code(self) -> str:
        return self.path.stem.split("_")[0]


def load_fixtures(area: str) -> list[Fixture]:
    """Every fixture of an area (top-level ``*.pipe`` files only; sub-folders hold included parts)."""
    out = []
    for path in sorted((FIXTURES / area).glob("*.pipe")):
        expected: list[Expected] = []
        clean = False
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _EXPECT.match(line)
            if m is None:
                break
            if m["clean"]:
                clean = True
            else:
                expected.append((m["code"], m["severity"], int(m["line"]), int(m["column"])))
        if not expected and not clean:
            raise ValueError(f"{path}: no `# expect:` header")
        out.append(Fixture(path, tuple(expected)))
    return out
