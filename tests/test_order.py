"""The lowered order, asserted as exact lists: written order, statements, effects, ties."""

from __future__ import annotations

import pytest

from hookpipe.compiler import compile_text
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import PASSES, run_passes
from hookpipe.errors import CompileError

HEAD = "trainer {\n    max_step = 100\n}\n"


def step_after(body: str, extra: str = "", hooks: str = "") -> list[str]:
    text = HEAD + hooks + "loop { epoch { step { after {\n" + body + "\n} } } }\n" + extra
    return [e.hook for e in compile_text(text, "t.pipe").phase("step", "after").entries]


STD = (
    "hook clip = grad_clip(max_norm = 1.0)\nhook optimize = optimizer()\n"
    'hook evaluate = validation(callback = "m.f")\nhook save = checkpoint(dir = "r")\n'
    "hook losses = loss_log()\nhook speed = throughput()\n"
)


def test_written_order_is_kept() -> None:
    assert step_after("speed\nlosses", hooks=STD) == ["speed", "losses"]
    assert step_after("losses\nspeed", hooks=STD) == ["losses", "speed"]


def test_chain_order() -> None:
    assert step_after("clip -> optimize -> evaluate", hooks=STD) == ["clip", "optimize", "evaluate"]


def test_effects_order_separate_blocks() -> None:
    """Blocks merge without written edges; the effect rule alone orders the hooks of SPEC 4."""
    text = HEAD + STD + "".join(
        f"loop {{ epoch {{ step {{ after {{ {h} }} }} }} }}\n" for h in ("save", "evaluate", "optimize", "clip"))
    plan = compile_text(text, "t.pipe")
    assert [e.hook for e in plan.phase("step", "after").entries] == ["clip", "optimize", "evaluate", "save"]


def test_order_statement_between_blocks() -> None:
    text = HEAD + STD + "loop { epoch { step { after { speed } } } }\nloop { epoch { step { after { losses } } } }\n"
    assert [e.hook for e in compile_text(text, "t.pipe").phase("step", "after").entries] == ["speed", "losses"]
    text2 = text + "order losses before speed\n"
    assert [e.hook for e in compile_text(text2, "t.pipe").phase("step", "after").entries] == ["losses", "speed"]
    text3 = text + "order speed after losses\n"
    assert [e.hook for e in compile_text(text3, "t.pipe").phase("step", "after").entries] == ["losses", "speed"]


def test_ties_break_by_declaration_order() -> None:
    text = HEAD + STD + "".join(f"loop {{ epoch {{ step {{ after {{ {h} }} }} }} }}\n" for h in ("speed", "losses"))
    assert [e.hook for e in compile_text(text, "t.pipe").phase("step", "after").entries] == ["speed", "losses"]


def test_statement_applies_in_every_phase_where_both_are_attached() -> None:
    text = HEAD + STD + (
        "loop {\n    epoch {\n        after { save }\n        after { evaluate }\n"
        "        step { after { speed\n losses } }\n    }\n    after { save }\n}\norder speed after losses\n")
    with pytest.raises(CompileError) as info:
        compile_text(text, "t.pipe")
    assert [d.code for d in info.value.diagnostics] == ["HP004"]
    plan = compile_text(text.replace("order speed after losses", "order evaluate before save"), "t.pipe")
    assert [e.hook for e in plan.phase("epoch", "after").entries] == ["evaluate", "save"]


def test_custom_effects_join_the_rule() -> None:
    hooks = STD + 'use m = "pkg.mod"\nhook gnorm = m.GradNorm() {\n    reads grads\n}\n'
    with pytest.raises(CompileError) as info:
        step_after("clip -> optimize\ngnorm", hooks=hooks)
    (d,) = info.value.diagnostics
    assert d.code == "HP005" and "`gnorm` reads `grads`" in d.message
    assert step_after("clip -> gnorm -> optimize", hooks=hooks) == ["clip", "gnorm", "optimize"]


def test_cycle_report_lists_every_edge_with_origins() -> None:
    text = HEAD + STD + "loop { epoch { step {\n after { speed }\n after { losses }\n} } }\n"
    text += "order speed before losses\norder losses before speed\n"
    with pytest.raises(CompileError) as info:
        compile_text(text, "t.pipe")
    (d,) = info.value.diagnostics
    assert d.code == "HP004" and d.message == "ordering cycle in step.after: speed -> losses -> speed"
    assert [(n.message, n.span.line if n.span else None) for n in d.notes] == [
        ("`speed` -> `losses`: `order` statement", 14),
        ("`losses` -> `speed`: `order` statement", 15),
    ]
    text_report = str(info.value)
    assert "t.pipe:14:1" in text_report and "t.pipe:15:1" in text_report


def test_passes_can_run_one_at_a_time() -> None:
    loaded = load_text(HEAD + STD + "loop { epoch { step { after { clip -> optimize } } } }\n", "t.pipe")
    ctx = run_passes(loaded, "t.pipe")
    assert ctx.plan is not None
    names = [p.__name__ for p, _ in PASSES]
    assert names == ["resolve_names", "collect_attachments", "validate_arguments", "check_references", "check_frequencies",
                     "build_graphs", "check_order", "lower"]
    from hookpipe.compiler.context import Compilation

    fresh = Compilation(files=loaded.files, sources=loaded.sources, main="t.pipe")
    for compiler_pass, _ in PASSES[:2]:
        compiler_pass(fresh)
    assert [(n.hook, n.scope, n.phase) for n in fresh.nodes] == [("clip", "step", "after"), ("optimize", "step", "after")]
    assert fresh.plan is None
