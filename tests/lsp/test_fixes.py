"""Quick fixes on the golden diagnostics fixtures: applied, they remove what they fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.compiler.pipeline import compile_path
from hookpipe.lsp.fixes import Edit, fixes_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "diagnostics"
SUGGESTING = sorted(p for p in FIXTURES.glob("*.pipe") if "did you mean" in p.with_suffix(".expected").read_text())


def _apply(text: str, edits: tuple[Edit, ...]) -> str:
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    for e in sorted(edits, key=lambda e: (e.span.line, e.span.column), reverse=True):
        a = starts[e.span.line - 1] + e.span.column - 1
        b = starts[e.span.end_line - 1] + e.span.end_column - 1
        text = text[:a] + e.text + text[b:]
    return text


def test_fixtures_with_suggestions_exist() -> None:
    assert len(SUGGESTING) >= 5


@pytest.mark.parametrize("path", SUGGESTING, ids=lambda p: p.stem)
def test_did_you_mean_replaces_the_name(path: Path, tmp_path: Path) -> None:
    ctx = compile_path(path)
    d = next(d for d in ctx.diagnostics if d.help and "did you mean" in d.help)
    fix = next(f for f in fixes_for(d, ctx) if f.title.startswith("Change"))
    suggestion = d.help.split("`")[1]
    assert fix.edits[0].text == suggestion and fix.edits[0].span.line == d.span.line
    fixed = tmp_path / path.name
    fixed.write_text(_apply(path.read_text(), fix.edits))
    after = compile_path(fixed)
    assert not any(a.code == d.code and a.span.line == d.span.line and a.message == d.message.replace(
        str(path), str(fixed)) for a in after.diagnostics)


def test_suppression_joins_an_existing_comment(tmp_path: Path) -> None:
    path = tmp_path / "p.pipe"
    path.write_text("trainer {\n    max_step = 10\n}\nhook o = optimizer()\nhook spare = optimizer()  "
                    "# hookpipe: ignore[HP101]\nloop {\n    epoch {\n        step {\n            after { o }\n"
                    "        }\n    }\n}\n")
    from hookpipe.lint.runner import lint_compilation

    ctx = compile_path(path)
    (d,) = [d for d in lint_compilation(ctx).diagnostics if d.code == "HP103"]
    (fix,) = [f for f in fixes_for(d, ctx) if f.title.startswith("Suppress")]
    assert "# hookpipe: ignore[HP101, HP103]" in _apply(path.read_text(), fix.edits)
