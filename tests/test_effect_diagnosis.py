"""HP005 names the effect edge the written order actually violates, and its help removes it.

The property: for a chain of built-ins and effect-declaring hooks in one block,
whenever the compiler reports HP005 with a move (``move `a` before `b```), making
that move in the chain and compiling again never reports the same HP005; followed
move after move, no diagnosis comes back (no loop) and the chain ends up clean
unless the declared effects themselves conflict, which the help then says.
"""

from __future__ import annotations

import re

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.render.model import from_compilation
from tests.helpers import ROOT

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


# --- the file's own order contradicts itself ---------------------------------------------------

AFTER = """                clip -> optimize
                evaluate every 200 steps
                save     every 400 steps"""
SAVE_FIRST = """                save     every 400 steps
                clip -> optimize
                evaluate every 200 steps"""


def test_a_moved_line_that_an_order_statement_contradicts_is_the_one_blamed() -> None:
    """`save` moved above `clip -> optimize`, with `order evaluate before save` in the file.

    Every effect edge of that cycle is also written, so none is "the" violated pair: the
    report blames the one step no effect rule backs (the move), at the moved line, and
    the help is an edit that compiles, not one that reverses `clip -> optimize`.
    """
    base = (ROOT / "examples" / "digits" / "train.pipe").read_text()
    head = base.replace(AFTER, SAVE_FIRST)
    assert head != base
    ctx = run_passes(load_text(head, "train.pipe"), "train.pipe")
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    lines = head.splitlines()
    line = {text.strip().split("#")[0].strip(): n for n, text in enumerate(lines, 1)}
    assert d.code == "HP005"
    assert d.message == ("effect order violated in step.after: `save` is written before `clip`, but the cycle's "
                         "other steps order `clip` before `save`: save -> clip -> optimize -> evaluate -> save")
    assert (d.span.line, d.span.column) == (line["save     every 400 steps"], 17)
    assert [(n.message, n.span.line if n.span else None) for n in d.notes] == [
        ("no effect rule backs `save` -> `clip`: that is the step an edit of this file can remove", None),
        ("`save` -> `clip`: written order", line["clip -> optimize"]),
        ("`clip` -> `optimize`: written order", line["clip -> optimize"]),
        ("`clip` -> `optimize`: effect rule: grads (write < consume)", None),
        ("`optimize` -> `evaluate`: written order", line["evaluate every 200 steps"]),
        ("`optimize` -> `evaluate`: effect rule: params (write < read)", None),
        ("`evaluate` -> `save`: `order` statement", line["order evaluate before save"]),
        ("`evaluate` -> `save`: effect rule: metrics (write < read)", None),
    ]
    # `order evaluate before save` is backed by `metrics`: removing it would not help, so it is not offered.
    assert d.help == "move `save` after `evaluate`"
    model = from_compilation(ctx)
    assert [(ctx.nodes[e.source].hook, ctx.nodes[e.target].hook) for e in model.edges if e.bad] == [("save", "clip")]
    # Following the help (`save` back below `evaluate`) compiles.
    fixed = run_passes(load_text(head.replace(SAVE_FIRST, AFTER), "train.pipe"), "train.pipe")
    assert fixed.plan is not None, fixed.diagnostics


def test_an_order_statement_that_contradicts_the_written_order_may_be_removed() -> None:
    """`order probe before clip` against `clip -> optimize` then `probe`: both edits are offered, and both work."""
    hooks = {"clip": BUILTINS["clip"], "optimize": BUILTINS["optimize"], "probe": "probes.H()"}
    text = HEAD + "".join(f"hook {name} = {decl}\n" for name, decl in hooks.items())
    text += "loop { epoch { step { after {\n    clip -> optimize\n    probe\n} } } }\norder probe before clip\n"
    ctx = run_passes(load_text(text, "chain.pipe"), "chain.pipe")
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    statement = text.splitlines().index("order probe before clip") + 1
    assert d.code == "HP005"
    assert d.message == ("effect order violated in step.after: `optimize` is written before `probe`, but the "
                         "cycle's other steps order `probe` before `optimize`: optimize -> probe -> clip -> optimize")
    assert d.span.line == text.splitlines().index("    probe") + 1
    assert d.notes[0].message == ("no effect rule backs `optimize` -> `probe`, `probe` -> `clip`: those are the "
                                  "steps an edit of this file can remove")
    assert d.help == f"move `probe` before `clip`, or remove `order probe before clip` (chain.pipe:{statement})"
    moved = text.replace("    clip -> optimize\n    probe\n", "    probe\n    clip -> optimize\n")
    removed = text.replace("order probe before clip\n", "")
    for edited in (moved, removed):
        assert run_passes(load_text(edited, "chain.pipe"), "chain.pipe").plan is not None


EDIT = re.compile(r"move `(\w+)` (after|before) `(\w+)`|remove `order (\w+) before (\w+)` \(chain\.pipe:\d+\)")
PARTIAL = " (other cycles among these hooks remain: compile again for the next one)"


def with_orders(hooks: dict[str, str], chain: list[str], orders: list[tuple[str, str]]) -> Compilation:
    text = HEAD + "".join(f"hook {name} = {decl}\n" for name, decl in hooks.items())
    text += "loop { epoch { step { after { " + " -> ".join(chain) + " } } } }\n"
    text += "".join(f"order {a} before {b}\n" for a, b in orders)
    return run_passes(load_text(text, "chain.pipe"), "chain.pipe")


def cycles_of(ctx: Compilation) -> list[set[str]]:
    """The hooks of each strongly connected component of step.after that holds a cycle."""
    graph = ctx.graphs[("step", "after")]
    return [{ctx.nodes[n].hook for n in c if n >= 0} for c in nx.strongly_connected_components(graph) if len(c) > 1]


@settings(max_examples=300, deadline=None)
@given(chains(), st.data())
def test_every_edit_a_contradiction_report_offers_breaks_its_cycle(case: tuple[dict[str, str], list[str]],
                                                                   data: st.DataObject) -> None:
    """`order` statements against the written chain: each edit the help names, made alone, does what it says.

    Without the "other cycles remain" remark, no cycle is left among the cycle's hooks;
    with it, what the edit changed (the moved hook, the statement's two hooks) is on no cycle.
    """
    hooks, chain = case
    pairs = st.tuples(st.sampled_from(chain), st.sampled_from(chain)).filter(lambda p: p[0] != p[1])
    orders = data.draw(st.lists(pairs, min_size=1, max_size=3))
    ctx = with_orders(hooks, chain, orders)
    for d in ctx.diagnostics:
        help_text = d.help or ""
        if "the cycle's other steps order" not in d.message or not help_text.startswith(("move ", "remove ")):
            continue
        cycle = set(d.message.rsplit(": ", 1)[1].split(" -> "))
        partial = help_text.endswith(PARTIAL)
        for edit in help_text.removesuffix(PARTIAL).split(", or "):
            m = EDIT.fullmatch(edit)
            assert m is not None, help_text
            moved, where, anchor, first, second = m.groups()
            if moved is not None:
                rest = [h for h in chain if h != moved]
                at = rest.index(anchor) + (where == "after")
                edited, changed = with_orders(hooks, [*rest[:at], moved, *rest[at:]], orders), {moved}
            else:
                left = list(orders)
                left.remove((first, second))
                edited, changed = with_orders(hooks, chain, left), {first, second}
            left_over = cycles_of(edited)
            if partial:
                assert not any(changed <= c for c in left_over), (chain, orders, d.message, edit)
            else:
                assert not any(c & cycle for c in left_over), (chain, orders, d.message, edit)


def test_a_statement_closing_a_long_written_chain_is_still_tried() -> None:
    """Twenty written steps, then the one statement that closes the cycle: its removal is the help."""
    hooks = {"h0": "probes.H() {\n    writes x\n}", "h1": "probes.H() {\n    reads x\n}"}
    hooks.update({f"h{i}": "probes.H()" for i in range(2, 21)})
    ctx = with_orders(hooks, [f"h{i}" for i in range(21)], [("h20", "h0")])
    (d,) = [d for d in ctx.diagnostics if d.severity == "error"]
    line = ctx.sources.texts["chain.pipe"].splitlines().index("order h20 before h0") + 1
    assert d.code == "HP005" and d.help == f"remove `order h20 before h0` (chain.pipe:{line})"
    assert (d.span.line, d.span.column) == (line, 1)
