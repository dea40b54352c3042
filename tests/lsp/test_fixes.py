"""Quick fixes on the golden diagnostics fixtures: applied, they remove what they fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.compiler.pipeline import compile_path
from hookpipe.lsp.fixes import Edit, fixes_for
from tests.test_effect_diagnosis import AFTER, SAVE_FIRST

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


# --- ordering cycles: the edits the compiler tried, as quick fixes -------------------------

ROOT = Path(__file__).resolve().parents[2]


def _cycle(path: Path, text: str):  # type: ignore[no-untyped-def]
    path.write_text(text)
    ctx = compile_path(path)
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    assert d.code == "HP005" and "the cycle's other steps order" in d.message
    return ctx, d


def test_a_cycle_report_s_move_is_a_quick_fix_that_compiles(tmp_path: Path) -> None:
    """`save` moved above `clip -> optimize` while `order evaluate before save` stands (the report blames the move)."""
    text = (ROOT / "examples" / "digits" / "train.pipe").read_text().replace(AFTER, SAVE_FIRST)
    path = tmp_path / "train.pipe"
    ctx, d = _cycle(path, text)
    assert d.help == "move `save` after `evaluate`"
    (fix,) = [f for f in fixes_for(d, ctx) if not f.title.startswith("Suppress")]
    assert fix.title == "Move `save` after `evaluate`" and fix.preferred
    fixed = _apply(text, fix.edits)
    assert AFTER in fixed and fixed.count("save     every 400 steps") == 1
    path.write_text(fixed)
    assert compile_path(path).plan is not None


CHAIN = """use probes = "probes"
trainer {
    max_step = 10
}
hook clip     = grad_clip(max_norm = 1.0)
hook optimize = optimizer()
hook probe    = probes.H()
loop { epoch { step { after {
    clip -> optimize
    probe
} } } }
order probe before clip  # why: probe reads raw grads
"""


def test_a_statement_the_cycle_report_may_remove_is_a_quick_fix_and_a_move_inside_a_chain_is_not(
        tmp_path: Path) -> None:
    """`probe` before `clip` would land inside `clip -> optimize`: no line move does that, so only the help says it."""
    path = tmp_path / "chain.pipe"
    ctx, d = _cycle(path, CHAIN)
    assert d.help == f"move `probe` before `clip`, or remove `order probe before clip` ({path}:12)"
    assert [r.title for r in d.remedies] == ["Move `probe` before `clip`", "Remove `order probe before clip`"]
    (fix,) = fixes_for(d, ctx)
    assert fix.title == "Remove `order probe before clip`" and fix.preferred
    fixed = _apply(CHAIN, fix.edits)
    assert fixed == CHAIN.replace("order probe before clip  # why: probe reads raw grads\n", "")
    path.write_text(fixed)
    assert compile_path(path).plan is not None
