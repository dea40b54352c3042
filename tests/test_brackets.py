"""`with NAME { ... }` brackets: parsing, checking, ordering, lowering, explain, fmt, editor."""

from __future__ import annotations

import pytest

from hookpipe.compiler import compile_text
from hookpipe.compiler.explain import explain_plan
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.compiler.plan import Plan
from hookpipe.compiler.schedule import simulate
from hookpipe.dsl import ast
from hookpipe.dsl.formatter import format_text
from hookpipe.dsl.parser import parse_text
from hookpipe.lint.rules import run_rules
from hookpipe.lsp.completion import complete
from hookpipe.lsp.hover import hover_text
from hookpipe.lsp.index import build_index

HEAD = """trainer { max_step = 10 }
hook optimize = optimizer()
hook avg      = ema(decay = 0.9)
hook swap     = ema_swap(source = "avg")
hook evaluate = validation(callback = "m.evaluate")
hook save     = checkpoint(dir = "runs")
hook show     = log()
"""


def pipe(step_after: str, head: str = HEAD) -> str:
    return f"{head}loop {{ epoch {{ step {{ after {{\n{step_after}\n}} }} }} }}\n"


EMA = pipe("    optimize\n    avg\n    with swap {\n        evaluate every 5 steps\n        show every 5 steps\n    }")


def errors(text: str) -> list[tuple[str, str]]:
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    return [(d.code, d.message) for d in ctx.diagnostics if d.severity == "error"]


def test_a_bracket_parses_with_its_contents() -> None:
    parsed = parse_text(EMA, "t.pipe")
    assert parsed.file is not None and not parsed.diagnostics
    scope = parsed.file.items[-1]
    assert isinstance(scope, ast.ScopeBlock)
    phase = scope.body[0].body[0].body[0]  # type: ignore[union-attr]
    bracket = phase.chains[2]  # type: ignore[union-attr]
    assert isinstance(bracket, ast.Bracket) and bracket.hook == "swap"
    assert [a.hook for a in ast.phase_attachments(bracket.chains)] == ["evaluate", "show"]
    assert (bracket.name_span.line, bracket.name_span.column) == (11, 10)


def test_a_bracket_lowers_to_one_entry_holding_its_contents() -> None:
    plan = compile_text(EMA, "t.pipe")
    entries = plan.phase("step", "after").entries
    assert [e.hook for e in entries] == ["optimize", "avg", "swap"]
    bracket = entries[2]
    assert bracket.callback == "enter" and bracket.inner is not None
    assert [(e.hook, e.guard.describe()) for e in bracket.inner] == [("evaluate", "every 5 steps"),
                                                                      ("show", "every 5 steps")]
    assert [e.hook for _, e in plan.entries()] == ["optimize", "avg", "swap", "evaluate", "show"]
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.content_hash == plan.content_hash


def test_plans_without_brackets_keep_their_json() -> None:
    plan = compile_text(pipe("    optimize\n    avg\n    evaluate every 5 steps"), "t.pipe")
    assert '"inner"' not in plan.to_json()


def test_explain_nests_the_bracket_and_steps_show_it_only_when_its_contents_fire() -> None:
    plan = compile_text(EMA, "t.pipe")
    text = explain_plan(plan)
    assert "with swap:  # ema_swap: enter, then exit (also on error)" in text
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "with swap:" in line)
    indent = len(lines[at]) - len(lines[at].lstrip())
    assert lines[at + 1].startswith(" " * (indent + 4) + "evaluate")
    fired = [(f.step, f.hook) for f in simulate(plan, 10, 10)]
    assert [s for s, h in fired if h == "swap"] == [4, 9]
    at_4 = [h for s, h in fired if s == 4]
    assert at_4 == ["optimize", "avg", "swap", "evaluate", "show"]


def test_the_brackets_writes_hold_inside_it_only_no_false_hp005() -> None:
    """`swap` writes params; `probe` (reads params) outside and before it is not ordered after it."""
    head = HEAD + 'use p = "project.probes"\nhook probe = p.Probe() { reads params }\n'
    text = pipe("    optimize\n    avg\n    probe\n    with swap { evaluate every 5 steps }", head)
    assert errors(text) == []
    # the same hook as a plain attachment: its writes order it before every reader (HP005, the report)
    plain = head.replace('ema_swap(source = "avg")', 'p.SwapIn() { writes params }')
    assert [c for c, _ in errors(pipe("    optimize\n    avg\n    probe\n    swap\n    evaluate", plain))] == ["HP005"]


def test_contents_are_ordered_after_outside_writers_and_the_bracket_stays_whole() -> None:
    # `optimize`, in a block written later, runs before the whole bracket: `evaluate` inside reads params
    text = pipe("    avg\n    with swap { evaluate every 5 steps }\n}\nafter {\n    optimize")
    plan = compile_text(text, "t.pipe")
    assert [e.hook for e in plan.phase("step", "after").entries] == ["optimize", "avg", "swap"]


def test_an_attachment_that_must_run_between_a_brackets_contents_is_hp004() -> None:
    head = HEAD + 'use p = "project.probes"\nhook a = p.A() { writes x }\nhook b = p.B() { reads x\n writes y }\n' \
                  'hook c = p.C() { reads y }\n'
    text = pipe("    optimize\n    avg\n    with swap {\n        a\n        c\n    }\n    b", head)
    found = errors(text)
    assert [c for c, _ in found] == ["HP004"]
    assert "`with swap` cannot run as one block: `b` must run between" in found[0][1]


@pytest.mark.parametrize(("body", "head_change", "code", "message"), [
    ("    with optimize { evaluate }", None, "HP006", "`optimize` (optimizer) is not a bracket hook"),
    ("    optimize\n    swap", None, "HP006", "`swap` (ema_swap) is a bracket, not an attachment"),
    ("    optimize\n    with swop { evaluate }", None, "HP002", "unknown hook `swop`"),
    ("    optimize\n    avg\n    with swap { evaluate }", ('source = "avg"', 'source = "agv"'), "HP002",
     "`swap` swaps in the weights of `agv`, but there is no hook `agv`"),
    ("    optimize\n    avg\n    with swap { evaluate }", ('source = "avg"', 'source = "save"'), "HP003",
     "`swap` swaps in the weights of `save`, but `save` (checkpoint) provides no averaged weights"),
    ("    optimize\n    avg\n    with swap { evaluate every 2 epochs }", None, "HP007", "`every 2 epochs` makes no sense"),
    ("    optimize\n    avg\n    with swap { save }", None, "HP006", "`save` (checkpoint) cannot run inside a bracket"),
])
def test_misuse_is_reported(body: str, head_change: tuple[str, str] | None, code: str, message: str) -> None:
    head = HEAD if head_change is None else HEAD.replace(*head_change)
    found = errors(pipe(body, head))
    assert len(found) == 1 and found[0][0] == code and found[0][1].startswith(message), found


def test_hp107_does_not_count_two_brackets_of_one_hook() -> None:
    text = pipe("    optimize\n    avg\n    with swap { evaluate every 5 steps }\n    with swap { show every 5 steps }\n"
                "    save every 5 steps")
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    assert not [d for d in ctx.diagnostics if d.severity == "error"]
    # `show` is a log() with no tracker in HEAD (HP111), which is not what this test is about.
    assert [d.code for d in run_rules(ctx)] == ["HP111"]


def test_formatter_round_trips_brackets() -> None:
    messy = EMA.replace("with swap {", "with   swap   {").replace("evaluate every 5 steps", "evaluate  every 5 steps")
    first = format_text(messy).text
    assert first is not None
    assert "                with swap {\n                    evaluate every 5 steps\n                    show     every 5 steps\n" \
        in first
    assert format_text(first).text == first
    one = format_text(pipe("    optimize\n    avg\n    with swap {evaluate}")).text
    assert one is not None and "with swap { evaluate }\n" in one
    assert compile_text(first).content_hash == compile_text(EMA).content_hash


def test_editor_offers_with_and_bracket_hooks_and_explains_them() -> None:
    ctx = run_passes(load_text(EMA, "t.pipe"), "t.pipe")
    inside_phase = EMA.split("    optimize")[0]
    labels = {i.label for i in complete(inside_phase, ctx)}
    assert {"with", "optimize", "swap"} <= labels
    assert {i.label for i in complete(inside_phase + "    with ", ctx)} == {"swap"}
    inside_bracket = EMA.split("        evaluate")[0] + "        "
    assert {"evaluate", "show", "with"} <= {i.label for i in complete(inside_bracket, ctx)}
    hook_types = {i.label for i in complete("hook s = ", ctx)}
    assert {"ema_swap", "swa"} <= hook_types
    index = build_index(ctx)
    line = EMA.splitlines().index("    with swap {") + 1
    occ = index.at("t.pipe", line, 10)
    assert occ is not None and occ.kind == "hook" and occ.name == "swap"
    text = hover_text(occ, ctx, index)
    assert text is not None and "ema_swap" in text
