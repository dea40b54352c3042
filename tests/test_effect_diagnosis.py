"""HP005 names the effect edge the written order actually violates, and its help removes it.

The property: for a chain of built-ins and effect-declaring hooks in one block,
whenever the compiler reports HP005 with a move (``move `a` before `b```), making
that move in the chain and compiling again never reports the same HP005; followed
move after move, no diagnosis comes back (no loop) and the chain ends up clean
unless the declared effects themselves conflict, which the help then says.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.render.model import from_compilation

HEAD = 'use probes = "x.probes"\ntrainer {\n    max_step = 100\n}\n'
BUILTINS = {
    "clip": "grad_clip(max_norm = 1.0)",
    "optimize": "optimizer()",
    "average": "ema(decay = 0.99)",
    "evaluate": 'validation(callback = "m.f")',
    "save": 'checkpoint(dir = "r")',
    "losses": "loss_log()",
    "guard": "nan_guard()",
    "logger": "log()",
}
RESOURCES = ("grads", "params", "metrics", "x")
MOVE = re.compile(r"^move `(\w+)` before `(\w+)` \(e\.g\. `\1 -> \2`\)$")
CONFLICT = "change what one of them declares"


@st.composite
def chains(draw: st.DrawFn) -> tuple[dict[str, str], list[str]]:
    """Hook declarations (some built-ins, some custom hooks with random effects) and a chain of them."""
    hooks = {name: BUILTINS[name] for name in draw(st.lists(st.sampled_from(sorted(BUILTINS)), unique=True))}
    for i in range(draw(st.integers(0, 3))):
        lines = [f"{kind} {r}" for r in RESOURCES for kind in ("reads", "writes", "consumes")
                 if draw(st.integers(0, 5)) == 0]
        hooks[f"h{i}"] = "probes.H()" + (" {\n    " + "\n    ".join(lines) + "\n}" if lines else "")
    if len(hooks) < 2:
        hooks.update({"clip": BUILTINS["clip"], "optimize": BUILTINS["optimize"]})
    chain = draw(st.permutations(sorted(hooks)))
    return hooks, list(chain)


def compiled(hooks: dict[str, str], chain: list[str]) -> Compilation:
    text = HEAD + "".join(f"hook {name} = {decl}\n" for name, decl in hooks.items())
    text += "loop { epoch { step { after { " + " -> ".join(chain) + " } } } }\n"
    return run_passes(load_text(text, "chain.pipe"), "chain.pipe")


def hp005(ctx: Compilation) -> list[tuple[str, str]]:
    return [(d.message, d.help or "") for d in ctx.diagnostics if d.code == "HP005"]


def named(message: str) -> tuple[str, str]:
    """The pair an HP005 message names: the hook that must run first, and the other."""
    m = re.search(r"`(\w+)` \w+ `\w+`, so it must run before `(\w+)`", message)
    assert m is not None, message
    return m.group(1), m.group(2)


def moved(chain: list[str], early: str, late: str) -> list[str]:
    """``early`` taken out of the chain and put right before ``late``."""
    rest = [h for h in chain if h != early]
    at = rest.index(late)
    return [*rest[:at], early, *rest[at:]]


@settings(max_examples=250, deadline=None)
@given(chains())
def test_following_the_help_never_repeats_a_diagnosis(case: tuple[dict[str, str], list[str]]) -> None:
    hooks, chain = case
    seen: set[str] = set()
    for _ in range(2 * len(chain) + 2):
        ctx = compiled(hooks, chain)
        found = hp005(ctx)
        assert {d.code for d in ctx.diagnostics if d.severity == "error"} <= {"HP005"}, (chain, ctx.diagnostics)
        if not found:
            assert ctx.plan is not None
            return
        # Each pair named is one the chain has the wrong way round, and render blames those edges alone.
        pairs = [named(message) for message, _ in found]
        assert all(chain.index(early) > chain.index(late) for early, late in pairs), (chain, found)
        blamed = {(ctx.nodes[e.source].hook, ctx.nodes[e.target].hook) for e in from_compilation(ctx).edges if e.bad}
        assert blamed == set(pairs)
        message, help_text = found[0]
        early, late = pairs[0]
        move = MOVE.match(help_text)
        if move is None:
            assert CONFLICT in help_text, help_text
            return
        assert move.groups() == (early, late)
        assert message not in seen, f"the same diagnosis again after following the help: {message} ({chain})"
        seen.add(message)
        next_chain = moved(chain, early, late)
        assert message not in [m for m, _ in hp005(compiled(hooks, next_chain))]
        chain = next_chain
    raise AssertionError(f"still HP005 after {2 * len(chain) + 2} moves: {chain}")


def test_ema_before_the_optimizer_names_the_edge_it_violates() -> None:
    """The reported case: `average -> clip -> optimize` violates `optimize -> average`, not `clip -> optimize`."""
    hooks = {name: BUILTINS[name] for name in ("clip", "optimize", "average")}
    ctx = compiled(hooks, ["average", "clip", "optimize"])
    ((message, help_text),) = hp005(ctx)
    assert message == ("effect order violated in step.after: `optimize` writes `params`, so it must run before "
                       "`average`, which reads it")
    assert help_text == "move `optimize` before `average` (e.g. `optimize -> average`)"
    (d,) = [d for d in ctx.diagnostics if d.code == "HP005"]
    assert ctx.sources.line("chain.pipe", d.span.line)[d.span.column - 1:d.span.end_column - 1] == "optimize"
    model = from_compilation(ctx)
    assert [(ctx.nodes[e.source].hook, ctx.nodes[e.target].hook, e.kind) for e in model.edges if e.bad] == [
        ("optimize", "average", "effect")]
    errors = {n.hook for n in model.root.children[0].children[0].after.nodes if n.error}
    assert errors == {"optimize"}
    # Following the help twice (the second time for `clip`) gives the order that compiles.
    second = hp005(compiled(hooks, ["optimize", "average", "clip"]))
    assert second == [("effect order violated in step.after: `clip` writes `grads`, so it must run before "
                       "`optimize`, which consumes it", "move `clip` before `optimize` (e.g. `clip -> optimize`)")]
    assert compiled(hooks, ["clip", "optimize", "average"]).plan is not None


def test_effects_that_conflict_by_themselves_get_no_move() -> None:
    hooks = {"a": "probes.H() {\n    writes x\n    reads y\n}", "b": "probes.H() {\n    writes y\n    reads x\n}"}
    for chain in (["a", "b"], ["b", "a"]):
        ((message, help_text),) = hp005(compiled(hooks, chain))
        assert help_text.endswith("but the effects the hooks declare order them the other way round too "
                                  "(see the steps above): change what one of them declares"), help_text
