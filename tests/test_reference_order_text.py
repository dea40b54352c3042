"""docs/reference.md's `order` example explains what decides between unordered attachments, and it is so.

It said `report` runs first "because it is declared first", but `notify` is declared
first: it is the attachment order that decides (docs/language.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from hookpipe.compiler.pipeline import compile_path
from tests.helpers import ROOT

TEXT = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
EXAMPLE = re.search(r"```pipe\n((?:(?!```).)*?order notify before report\n)```\n\n(.*?)\n\n", TEXT, re.S)


def _epoch_after(body: str, tmp_path: Path) -> list[str]:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "x.pipe").write_text(body, encoding="utf-8")
    ctx = compile_path(str(tmp_path / "x.pipe"))
    assert ctx.plan is not None, ctx.diagnostics
    return [entry.hook for phase, entry in ctx.plan.entries() if (phase.scope, phase.phase) == ("epoch", "after")]


def test_without_the_order_line_the_first_attached_runs_first_whatever_the_declarations(tmp_path: Path) -> None:
    assert EXAMPLE is not None
    body, explanation = EXAMPLE[1], " ".join(EXAMPLE[2].split())
    assert _epoch_after(body, tmp_path) == ["notify", "report"]
    without = body.replace("order notify before report\n", "")
    declared = [m for m in re.findall(r"^hook (\w+)", without, re.M) if m in ("notify", "report")]
    assert declared == ["notify", "report"]  # notify is declared first ...
    assert _epoch_after(without, tmp_path) == ["report", "notify"]  # ... and report, attached first, runs first
    assert "`report` would run first only because it is attached first" in explanation, explanation
    assert "declared first." not in explanation
