"""Effect edges through hubs: linear in attachments, and the same plans and cycles as direct edges."""

from __future__ import annotations

import random

import pytest

import hookpipe.compiler.graph as graph_module
from hookpipe.compiler.pipeline import load_text, run_passes

ROLES = ("writes", "reads", "consumes")


def random_pipeline(rng: random.Random) -> str:
    hooks = rng.randint(2, 14)
    lines = ['use probes = "x.probes"', "trainer {", "    max_step = 1", "}"]
    for i in range(hooks):
        effects = []
        for resource in ("x", "y"):
            for role in ROLES:
                if rng.random() < 0.3:
                    effects.append(f"{role} {resource}")
        body = " {\n    " + "\n    ".join(effects) + "\n}" if effects else ""
        lines.append(f"hook h{i} = probes.H(){body}")
    attached = rng.sample([f"h{i}" for i in range(hooks)], rng.randint(2, hooks))
    lines.append("loop { epoch { step { after {")
    lines += [f"    {name}" if rng.random() < 0.7 else f"    {name} every {rng.randint(1, 3)} steps" for name in attached]
    lines.append("} } } }")
    if rng.random() < 0.3:
        a, b = rng.sample(range(hooks), 2)
        lines.append(f"order h{a} before h{b}")
    return "\n".join(lines) + "\n"


def outcome(text: str) -> tuple[object, ...]:
    ctx = run_passes(load_text(text, "r.pipe"), "r.pipe")
    if ctx.plan is not None:
        return ("plan", ctx.plan.content_hash, [e.hook for e in ctx.plan.phase("step", "after").entries])
    return ("errors", sorted((d.code, d.message) for d in ctx.diagnostics))


def test_hubs_give_the_same_plans_and_cycle_reports_as_direct_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    compared = {"plan": 0, "errors": 0}
    for _ in range(300):
        text = random_pipeline(rng)
        monkeypatch.setattr(graph_module, "DIRECT_PAIRS", 10**9)
        direct = outcome(text)
        monkeypatch.setattr(graph_module, "DIRECT_PAIRS", 0)
        hubs = outcome(text)
        if direct[0] == "plan":
            assert hubs == direct, text
        else:  # the same cycles, each naming its hooks and the effect (notes may list fewer origins)
            assert hubs == direct, text
        compared[str(direct[0])] += 1
    assert compared["plan"] > 50 and compared["errors"] > 20, compared


def test_many_writers_and_readers_stay_linear() -> None:
    n = 600
    text = ['use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\n']
    text += [f"hook w{i} = probes.W() {{ writes x }}\n" for i in range(n)]
    text += [f"hook r{i} = probes.R() {{ reads x }}\n" for i in range(n)]
    text.append("loop { epoch { step {\n"
                + "".join(f"after {{ r{i} }}\nafter {{ w{i} }}\n" for i in range(n)) + "} } }\n")
    ctx = run_passes(load_text("".join(text), "big.pipe"), "big.pipe")
    assert ctx.plan is not None, ctx.diagnostics[:3]
    graph = ctx.graphs[("step", "after")]
    assert graph.number_of_edges() < 6 * 2 * n  # direct edges would be n * n = 360,000
    order = [e.hook for e in ctx.plan.phase("step", "after").entries]
    assert order[:n] == [f"w{i}" for i in range(n)] and order[n:] == [f"r{i}" for i in range(n)]


def test_a_cycle_through_a_hub_names_the_hooks_and_the_effect() -> None:
    n = 40
    text = ['use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\n']
    text += [f"hook w{i} = probes.W() {{ writes x }}\n" for i in range(n)]
    text += [f"hook r{i} = probes.R() {{ reads x }}\n" for i in range(n)]
    text.append("loop { epoch { step {\n" + "".join(f"after {{ w{i} }}\nafter {{ r{i} }}\n" for i in range(n))
                + "} } }\norder r7 before w3\n")
    ctx = run_passes(load_text("".join(text), "c.pipe"), "c.pipe")
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    assert d.code == "HP005"
    assert d.message == ("effect order violated in step.after: `w3` writes `x`, so it must run before `r7`, "
                         "which reads it")
    assert [n.message for n in d.notes] == [
        "`r7` reads `x` here",
        "`w3` -> `r7`: effect rule: x (write < read)",
        "`r7` -> `w3`: `order` statement",
    ]


def test_the_examples_build_no_hubs() -> None:
    from pathlib import Path

    from hookpipe.compiler import compile_path

    for path in sorted(Path("examples").rglob("*.pipe")):
        ctx = compile_path(path)
        assert all(node >= 0 for g in ctx.graphs.values() for node in g), path


def test_unordered_writers_are_counted_past_the_cap() -> None:
    from hookpipe.lint.rules import hp105

    n = 300
    text = ['use probes = "x.probes"\ntrainer {\n    max_step = 1\n}\n']
    text += [f"hook w{i} = probes.W() {{ writes x }}\n" for i in range(n)]
    text.append("loop { epoch { step {\n" + "".join(f"after {{ w{i} }}\n" for i in range(n)) + "} } }\n")
    ctx = run_passes(load_text("".join(text), "w.pipe"), "w.pipe")
    found = list(hp105.check(ctx))
    assert len(found) == hp105.MAX_PAIRS + 1
    assert found[0].message == "`w0` and `w1` both write `x` in step.after with no order between them"
    assert found[-1].message == (f"{n * (n - 1) // 2 - hp105.MAX_PAIRS:,} more pairs of hooks write the same "
                                 "resource in step.after with no order between them")
