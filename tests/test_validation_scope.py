"""`validation NAME { before { } batch { } after { } }`: parsing, checking, lowering, explain, fmt, render, editor."""

from __future__ import annotations

import json

import pytest

from hookpipe.compiler import compile_text
from hookpipe.compiler.explain import explain_plan
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.compiler.plan import Plan
from hookpipe.dsl import ast
from hookpipe.dsl.formatter import format_text
from hookpipe.dsl.parser import parse_text
from hookpipe.lsp.completion import complete
from hookpipe.lsp.hover import hover_text
from hookpipe.lsp.index import build_index
from hookpipe.render.mermaid import to_mermaid
from hookpipe.render.model import from_compilation

HEAD = """trainer { max_step = 100 }
hook optimize = optimizer()
hook evaluate = validation(callback = "m.step", dataloader = m.loader())
hook plain    = validation(callback = "m.evaluate")
hook avg      = ema(decay = 0.9)
hook swap     = ema_swap(source = "avg")
hook show     = "m.Show"()
hook publish  = log()
hook save     = checkpoint(dir = "runs")
use m = "m"
loop { epoch { step { after {
    optimize
    avg
    evaluate every 50 steps
} } } }
"""

BLOCK = """validation evaluate {
    before { show }
    batch {
        before { show }
        after { show every 5 batches }
    }
    after { publish }
}
"""


def compiled(text: str) -> tuple[list[tuple[str, str]], Plan | None]:
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    return [(d.code, d.message) for d in ctx.diagnostics if d.severity == "error"], ctx.plan


def codes(block: str, head: str = HEAD) -> list[str]:
    return [code for code, _ in compiled(head + block)[0]]


def test_parses_into_a_scope_block_naming_the_hook() -> None:
    parsed = parse_text(HEAD + BLOCK, "t.pipe")
    assert parsed.file is not None and parsed.diagnostics == []
    block = parsed.file.items[-1]
    assert isinstance(block, ast.ScopeBlock) and (block.name, block.target) == ("validation", "evaluate")
    assert [type(c).__name__ for c in block.body] == ["PhaseBlock", "ScopeBlock", "PhaseBlock"]
    assert block.target_span is not None and block.target_span.column == len("validation ") + 1


def test_lowers_into_plan_validation_keyed_by_the_hook() -> None:
    errors, plan = compiled(HEAD + BLOCK)
    assert errors == [] and plan is not None
    phases = plan.validation["evaluate"]
    assert [(p.scope, p.phase) for p in phases] == [("validation", "before"), ("batch", "before"),
                                                     ("batch", "after"), ("validation", "after")]
    after = plan.validation_phase("evaluate", "batch", "after")
    assert after is not None
    (entry,) = after.entries
    assert (entry.hook, entry.callback, entry.guard.unit, entry.guard.every) == (
        "show", "on_validation_batch_end", "batch", 5)
    assert [e.callback for p in phases for e in p.entries] == [
        "on_validation_begin", "on_validation_batch_begin", "on_validation_batch_end", "on_validation_end"]
    again = Plan.from_json(plan.to_json())
    assert again.to_json() == plan.to_json() and again.content_hash == plan.content_hash


def test_files_without_the_block_keep_their_plan_json_and_hash() -> None:
    _, plan = compiled(HEAD)
    assert plan is not None and "validation" not in json.loads(plan.to_json())
    _, with_block = compiled(HEAD + BLOCK)
    assert with_block is not None and with_block.content_hash != plan.content_hash
    assert json.loads(with_block.to_json())["phases"] == json.loads(plan.to_json())["phases"]


@pytest.mark.parametrize(("block", "code", "words"), [
    ("validation plain { after { show } }", "HP006", "has no `dataloader`"),
    ("validation show { after { publish } }", "HP006", "m.Show hook"),
    ("validation evaluat { after { show } }", "HP002", "unknown hook `evaluat`"),
    ("validation { after { show } }", "HP006", "names the validation hook"),
    ("loop evaluate { after { show } }", "HP006", "only `validation` blocks name a hook"),
    ("validation evaluate { epoch { after { show } } }", "HP006", "cannot be nested inside `validation`"),
    ("validation evaluate { batch { batch { after { show } } } }", "HP006", "cannot be nested inside `batch`"),
    ("validation evaluate { btach { after { show } } }", "HP002", "unknown scope `btach`"),
    ("validation evaluate { batch { after { show every 10 steps } } }", "HP007", "not training steps"),
    ("validation evaluate { batch { after { show every epoch } } }", "HP007", "not training steps"),
    ("validation evaluate { after { show every 2 batches } }", "HP007", "once per validation"),
    ("validation evaluate { batch { after { save } } }", "HP006", "cannot run in validation[evaluate].batch.after"),
    ("validation evaluate { batch { after { evaluate } } }", "HP006", "cannot run inside a validation run"),
    ("validation evaluate { batch { after { swap } } }", "HP006", "is a bracket"),
    ("validation evaluate { batch { after { show on all } } }", "HP002", "unknown process"),
    # `*.after` built-ins act on a finished validation's metrics: its `after`, not each batch's.
    ("validation evaluate { batch { after { publish } } }", "HP006", "cannot run in validation[evaluate].batch.after"),
])
def test_misuse_is_a_clear_error(block: str, code: str, words: str) -> None:
    errors, _ = compiled(HEAD + block + "\n")
    assert [c for c, _ in errors] == [code], errors
    assert words in errors[0][1], errors


def test_hooks_of_any_after_phase_attach_to_a_validation_s_after_but_not_its_batches() -> None:
    head = HEAD.replace('hook save     = checkpoint(dir = "runs")',
                        'hook stop     = early_stop(monitor = "evaluate.loss")\n'
                        'hook plateau  = lr_plateau(monitor = "evaluate.loss")')
    errors, _ = compiled(head + "validation evaluate { after { plateau -> publish -> stop } }\n")
    assert errors == []
    for hook in ("publish", "stop", "plateau"):
        errors, _ = compiled(head + f"validation evaluate {{ batch {{ after {{ {hook} }} }} }}\n")
        assert [c for c, _ in errors] == ["HP006"], errors
    ctx = run_passes(load_text(head + "validation evaluate { batch { after { stop } } }\n", "v.pipe"), "v.pipe")
    assert [d.help for d in ctx.diagnostics if d.code == "HP006"] == [
        "early_stop hooks attach to *.after (not inside a validation run's batches)"]


def test_batches_in_a_step_count_the_epochs_and_elsewhere_are_hp007_with_the_way_there() -> None:
    errors, plan = compiled(HEAD.replace("evaluate every 50 steps", "evaluate every 50 batches"))
    assert errors == [] and plan is not None
    (guard,) = [e.guard for e in plan.phase("step", "after").entries if e.hook == "evaluate"]
    assert (guard.unit, guard.every) == ("batch", 50)
    in_epoch = HEAD.replace("loop { epoch { step { after {", "loop { epoch { after { evaluate every 2 batches }\n"
                            "step { after {")
    errors, _ = compiled(in_epoch)
    assert [c for c, _ in errors] == ["HP007"]
    ctx = run_passes(load_text(in_epoch, "t.pipe"), "t.pipe")
    help_text = ctx.diagnostics[0].help or ""
    assert "`step { after" in help_text and "validation NAME { batch" in help_text


def test_effects_order_inside_a_validation_phase() -> None:
    head = HEAD.replace('hook show     = "m.Show"()', 'hook show     = "m.Show"() { writes metrics }\n'
                                                       'hook read     = "m.Read"() { reads metrics }')
    assert codes("validation evaluate { after {\n read\n show\n} }\n", head) == ["HP005"]
    assert codes("validation evaluate { after {\n show\n read\n} }\n", head) == []


def test_brackets_work_inside_a_validation_batch() -> None:
    text = HEAD + "validation evaluate { batch { after { with swap { show every 5 batches } } } }\n"
    errors, plan = compiled(text)
    assert errors == [] and plan is not None
    after = plan.validation_phase("evaluate", "batch", "after")
    assert after is not None
    (bracket,) = after.entries
    assert bracket.hook == "swap" and bracket.inner is not None and [e.hook for e in bracket.inner] == ["show"]


def test_explain_nests_the_block_under_the_validation_hook() -> None:
    _, plan = compiled(HEAD + BLOCK)
    assert plan is not None
    lines = explain_plan(plan).splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("evaluate  validation"))
    block = lines[at + 1:at + 14]
    assert block[0].strip().startswith("with on_validation:")
    assert any("for batch in evaluate.dataloader:  # validation batches (not training steps)" in b for b in block)
    assert any("show  m.Show  every 5 batches" in b for b in block)
    assert any("publish  log" in b for b in block)
    indent = len(lines[at]) - len(lines[at].lstrip())
    assert all(len(b) - len(b.lstrip()) > indent for b in block if b.strip())


def test_formatter_round_trips_the_block() -> None:
    messy = HEAD + BLOCK.replace("validation evaluate {", "validation   evaluate{").replace("    ", "  ")
    first = format_text(messy).text
    assert first is not None and "\nvalidation evaluate {\n    before { show }\n    batch {\n" in first
    assert format_text(first).text == first
    assert compile_text(first).content_hash == compile_text(HEAD + BLOCK).content_hash


def test_render_draws_the_validation_scopes() -> None:
    ctx = run_passes(load_text(HEAD + BLOCK, "t.pipe"), "t.pipe")
    model = from_compilation(ctx)
    names = [c.name for c in model.root.children]
    assert "validation[evaluate]" in names
    run = model.root.children[names.index("validation[evaluate]")]
    assert [n.hook for n in run.before.nodes] == ["show"] and [n.hook for n in run.after.nodes] == ["publish"]
    assert [n.frequency for n in run.children[0].after.nodes] == ["every 5 batches"]
    assert "subgraph s_validation_evaluate_batch_after" in to_mermaid(model)


def _labels(text: str, ctx: object = None) -> set[str]:
    return {item.label for item in complete(text, ctx)}  # type: ignore[arg-type]


def test_editor_completes_the_block_and_its_unit() -> None:
    ctx = run_passes(load_text(HEAD, "t.pipe"), "t.pipe")
    assert "validation" in _labels("")
    assert _labels("validation ", ctx) == {"evaluate"}  # only validation hooks with a dataloader
    assert _labels("validation evaluate {\n    ") == {"before", "batch", "after"}
    assert _labels("validation evaluate {\n    batch {\n        ") == {"before", "after"}
    assert _labels("validation evaluate {\n batch {\n  after {\n   show every ") == {"batch"}
    assert _labels("validation evaluate {\n batch {\n  after {\n   show every 5 ") == {"batches"}
    assert "steps" not in _labels("validation evaluate {\n batch {\n  after {\n   show every 5 ")
    # The run's own before/after run once per validation: no unit, no `every`.
    assert _labels("validation evaluate {\n after {\n   show every ") == set()
    assert "every" not in _labels("validation evaluate {\n after {\n   show ")
    assert "batches" in _labels("loop { epoch { step { after {\n a every 10 ")  # the epoch's batches


def test_editor_hovers_explain_the_block_and_batches() -> None:
    text = HEAD + BLOCK
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    index = build_index(ctx)
    lines = text.splitlines()
    top = lines.index("validation evaluate {") + 1
    occ = index.at("t.pipe", top, 1)
    assert occ is not None and occ.kind == "scope"
    hover = hover_text(occ, ctx, index)
    assert hover is not None and "own validation run" in hover and "args.model_outputs" in hover
    target = index.at("t.pipe", top, len("validation ") + 1)
    assert target is not None and (target.kind, target.name) == ("hook", "evaluate")
    row = lines.index("        after { show every 5 batches }") + 1
    occ = index.at("t.pipe", row, lines[row - 1].index("batches") + 1)
    assert occ is not None and occ.kind == "unit"
    hover = hover_text(occ, ctx, index)
    assert hover is not None and "validation batch id 4, 9, 14" in hover and "not training steps" in hover


def test_diff_reports_changes_inside_a_validation_block() -> None:
    from hookpipe.compiler.plan_diff import diff_compilations

    base = run_passes(load_text(HEAD + BLOCK, "t.pipe"), "t.pipe")
    head = run_passes(load_text(HEAD + BLOCK.replace("every 5 batches", "every 2 batches"), "t.pipe"), "t.pipe")
    found = diff_compilations("t.pipe", base, head, [], [])
    (changed,) = [p for p in found.phases if p.changed]
    assert changed.key == "validation[evaluate].batch.after"
    (change,) = changed.frequency
    assert change.hook == "show"
