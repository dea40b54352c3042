"""`until N`: an end to a frequency (parsing, checking, HP107, explain --steps, fmt, editor)."""

from __future__ import annotations

import pytest

from hookpipe.compiler import compile_text
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.compiler.plan import Guard, Plan
from hookpipe.compiler.schedule import simulate
from hookpipe.dsl import ast
from hookpipe.dsl.formatter import format_text
from hookpipe.dsl.parser import parse_text
from hookpipe.lint.rules import run_rules
from hookpipe.lsp.completion import complete
from hookpipe.lsp.hover import hover_text
from hookpipe.lsp.index import build_index

HEAD = 'use my = "project.eval"\nhook optimize = optimizer()\nhook evaluate = validation(callback = my.evaluate)\n'


def pipe(epoch_after: str, max_epoch: int = 30) -> str:
    return (f"trainer {{ max_epoch = {max_epoch} }}\n{HEAD}loop {{\n    epoch {{\n        step {{ after {{ optimize }} }}\n"
            f"        after {{\n{epoch_after}\n        }}\n    }}\n}}\n")


DYNAMIC = pipe("            evaluate every 10 epochs until 15\n            evaluate every epoch from 16")


def test_until_parses_into_the_attachment() -> None:
    text = "loop { epoch { after { e every 2 epochs from 3 until 9 and at end } } }\n"
    parsed = parse_text(text, "t.pipe")
    assert parsed.file is not None and not parsed.diagnostics
    (scope,) = parsed.file.items
    assert isinstance(scope, ast.ScopeBlock)
    a = scope.body[0].body[0].chains[0].attachments[0]  # type: ignore[union-attr]
    assert (a.every.count, a.start, a.until, a.at_end) == (2, 3, 9, True)  # type: ignore[union-attr]
    assert a.until_span is not None and (a.until_span.line, a.until_span.column) == (1, text.index("9") + 1)


def test_two_disjoint_ranges_lower_to_two_guards_and_fire_as_written() -> None:
    plan = compile_text(DYNAMIC, "dyn.pipe")
    guards = [e.guard for e in plan.phase("epoch", "after").entries]
    assert guards == [Guard("epoch", 10, 10, until=15), Guard("epoch", 1, 16)]
    fired = [f.epoch for f in simulate(plan, 30, 1) if f.hook == "evaluate"]
    assert fired == [9, *range(15, 30)]  # epoch ids: the 10th epoch, then the 16th to the 30th
    assert len(fired) == len(set(fired))  # never twice in one epoch


def test_the_guard_json_keeps_its_old_form_without_until() -> None:
    assert "until" not in Guard("step", 2, 2).to_json()
    assert Guard.from_json(Guard("step", 2, 2, until=8).to_json()) == Guard("step", 2, 2, until=8)
    plan = compile_text(DYNAMIC, "dyn.pipe")
    assert Plan.from_json(plan.to_json()).content_hash == plan.content_hash


@pytest.mark.parametrize(("modifiers", "message"), [
    ("every 10 epochs until 0", "`until` must be positive, got 0"),
    ("every 10 epochs until -3", "`until` must be positive, got -3"),
    ("every epoch from 20 until 10", "`until 10` is below the first firing (20)"),
    ("every 10 epochs until 5", "`until 5` is below the first firing (10)"),
    ("until 10", "`until` needs a frequency"),
])
def test_misused_until_is_hp007(modifiers: str, message: str) -> None:
    ctx = run_passes(load_text(pipe(f"            evaluate {modifiers}"), "t.pipe"), "t.pipe")
    errors = [(d.code, d.message) for d in ctx.diagnostics if d.severity == "error"]
    assert len(errors) == 1 and errors[0][0] == "HP007" and errors[0][1].startswith(message), errors


def _lint(text: str) -> list[tuple[str, int]]:
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    assert not [d for d in ctx.diagnostics if d.severity == "error"], ctx.diagnostics
    return [(d.code, d.span.line) for d in run_rules(ctx) if d.code == "HP107"]


def test_hp107_accepts_disjoint_ranges_and_still_warns_on_overlap() -> None:
    assert _lint(DYNAMIC) == []
    overlapping = pipe("            evaluate every 10 epochs until 20\n            evaluate every epoch from 16")
    assert _lint(overlapping) == [("HP107", 10)]
    no_end = pipe("            evaluate every 10 epochs\n            evaluate every epoch from 16")
    assert _lint(no_end) == [("HP107", 10)]
    three = pipe("            evaluate every 5 epochs until 10\n            evaluate every 2 epochs from 12 until 20\n"
                 "            evaluate every epoch from 18")
    assert _lint(three) == [("HP107", 11)]  # the third meets the second (18-20), not the first
    # `and at end` fires on the last occurrence, which an endless range has too (either order).
    at_end = pipe("            evaluate every 10 epochs until 15 and at end\n            evaluate every epoch from 16")
    assert _lint(at_end) == [("HP107", 10)]
    ends_first = pipe("            evaluate every epoch from 16\n            evaluate every 10 epochs until 15 and at end")
    assert _lint(ends_first) == [("HP107", 10)]
    assert _lint(at_end.replace("from 16", "from 16 until 20")) == []  # the run's end is past 20: once there


def test_explain_shows_the_range(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hookpipe.cli import main

    path = tmp_path / "dyn.pipe"
    path.write_text(DYNAMIC, encoding="utf-8")
    assert main(["explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "every 10 epochs until 15" in out and "every epoch from 16" in out
    assert main(["explain", str(path), "--steps", "30", "--steps-per-epoch", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if "epoch.after" in line]
    assert [int(r[1]) for r in rows if "evaluate" in r] == [9, *range(15, 30)]


def test_formatter_round_trips_until() -> None:
    messy = DYNAMIC.replace("every 10 epochs until 15", "every   10 epochs   until  15")
    first = format_text(messy).text
    assert first is not None and "evaluate every 10 epochs until 15\n" in first
    assert format_text(first).text == first
    assert compile_text(first).content_hash == compile_text(DYNAMIC).content_hash


def test_editor_offers_and_explains_until() -> None:
    labels = {item.label for item in complete("hook a = log()\nloop { epoch { after {\n a every 10 epochs ", None)}
    assert "until" in labels
    ctx = run_passes(load_text(DYNAMIC, "t.pipe"), "t.pipe")
    index = build_index(ctx)
    line = DYNAMIC.splitlines().index("            evaluate every 10 epochs until 15") + 1
    occ = index.at("t.pipe", line, DYNAMIC.splitlines()[line - 1].index("15") + 1)
    assert occ is not None and occ.kind == "frequency" and occ.name == "until"
    text = hover_text(occ, ctx, index)
    assert text is not None and "every 10 epochs until 15" in text
    assert "Fires at epoch_id 9: 1 time in this run (max_epoch = 30)." in text
