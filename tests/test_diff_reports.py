"""`hookpipe diff` says what changed whenever the plan changed, and only what changed.

A CI reviewer's trial found: moving `publish` out of `with swap { }` gave "plan
changed (hash -> hash)" and nothing else, in every format; JSON of a change in a
validation block failed the published schema; long paths and values that differ
at the end printed alike; `clip` -> `clip every step` and two lines of one hook
with disjoint ranges written in another order read as timing changes; a changed
`until` showed the same first three firings on both sides.
"""

from __future__ import annotations

import doctest
import importlib
import itertools
import json
from pathlib import Path

import jsonschema
import pytest

from hookpipe.commands.diff_formats import MAX_VALUE, to_markdown, to_text
from hookpipe.compiler.context import Compilation
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.compiler.plan import Guard
from hookpipe.compiler.plan_diff import (
    AttachmentRef,
    FileDiff,
    Flip,
    HookChange,
    Move,
    PhaseDiff,
    ValueChange,
    diff_compilations,
    first_firings,
)
from tests.helpers import ROOT, run_cli

SCHEMA = jsonschema.Draft7Validator(json.loads((ROOT / "docs" / "diff.schema.json").read_text(encoding="utf-8")))

#: The trial's pipeline: evaluation and publishing with the averaged weights swapped in.
BASE = """use m = "mlteam.train"
trainer {
    max_step = 1_000
    log_with = ["csv"]
}
hook optimize = optimizer()
hook average  = ema(decay = 0.999)
hook swap     = ema_swap(source = "average")
hook evaluate = validation(callback = m.val_step, dataloader = m.val_loader())
hook publish  = log()
hook show     = m.ShowPredictions() { reads metrics, time }
hook stamp    = m.Stamp()
loop {
    epoch {
        step {
            after {
                optimize
                average
                with swap {
                    evaluate every 200 steps and at end
                    publish  every 200 steps and at end
                }
                stamp
            }
        }
    }
}
validation evaluate {
    batch {
        after { show every 20 batches }
    }
}
"""
PUBLISH = "                    publish  every 200 steps and at end\n"
#: The trial's edit: `publish` moved out of the bracket, one line down; nothing else.
OUTSIDE = BASE.replace(PUBLISH, "").replace("                }\n                stamp\n",
                                            "                }\n" + PUBLISH[4:] + "                stamp\n")
DISJOINT = "publish every 10 steps until 100\n                    publish every 200 steps from 200 and at end\n"
SWAPPED = "publish every 200 steps from 200 and at end\n                    publish every 10 steps until 100\n"

#: Edits of BASE, each a different kind of change (or none): every pair is compared.
VARIANTS = {
    "base": BASE,
    "publish outside swap": OUTSIDE,
    "both outside swap": BASE.replace("                with swap {\n", "").replace(
        "and at end\n                }\n", "and at end\n"),
    "stamp brackets nothing": BASE.replace("                stamp\n", "                with stamp { }\n"),
    "publish every 400 steps": BASE.replace("publish  every 200 steps", "publish  every 400 steps"),
    "publish until 1000": BASE.replace("publish  every 200 steps and at end", "publish  every 200 steps until 1000"),
    "publish on main": BASE.replace("publish  every 200 steps and at end", "publish  every 200 steps and at end on main"),
    "publish ranges": BASE.replace("publish  every 200 steps and at end\n", DISJOINT),
    "publish ranges swapped": BASE.replace("publish  every 200 steps and at end\n", SWAPPED),
    "optimize every step": BASE.replace("                optimize\n", "                optimize every step\n"),
    "average every update": BASE.replace("                average\n", "                average every update\n"),
    "stamp first": BASE.replace("                stamp\n", "").replace("                optimize\n",
                                                                      "                stamp\n                optimize\n"),
    "show every 40 batches": BASE.replace("show every 20 batches", "show every 40 batches"),
    "show reads in another order": BASE.replace("reads metrics, time", "reads time, metrics"),
    "show writes": BASE.replace("reads metrics, time", "reads metrics, time\n    writes metrics"),
    "decay": BASE.replace("decay = 0.999", "decay = 0.99"),
    "max_step": BASE.replace("max_step = 1_000", "max_step = 2_000"),
    "named": 'pipeline "averaged"\n' + BASE,
    "reformatted": BASE.replace("    ", "  ") + "\n# a comment\n",
}


def compiled(text: str, name: str = "train.pipe") -> Compilation:
    ctx = run_passes(load_text(text, name), name)
    assert ctx.plan is not None and not [d for d in ctx.diagnostics if d.severity == "error"], ctx.diagnostics
    return ctx


@pytest.fixture(scope="module")
def variants() -> dict[str, Compilation]:
    return {name: compiled(text) for name, text in VARIANTS.items()}


def texts(base: str, head: str, tmp_path: Path, *args: str) -> str:
    """``hookpipe diff`` of two files written under ``tmp_path``, run as a user runs it."""
    (tmp_path / "pyproject.toml").write_text("")
    for side, text in (("base", base), ("head", head)):
        (tmp_path / side).mkdir(exist_ok=True)
        (tmp_path / side / "train.pipe").write_text(text, encoding="utf-8")
    result = run_cli("diff", str(tmp_path / "base" / "train.pipe"), str(tmp_path / "head" / "train.pipe"), *args)
    assert result.code == 0 and result.err == "", result.err
    return result.out


# --- 1. brackets, and no empty report ---------------------------------------------------------


def test_moving_an_attachment_out_of_a_bracket_is_reported_in_every_format(tmp_path: Path) -> None:
    text = texts(BASE, OUTSIDE, tmp_path)
    assert "    bracket  publish: inside with swap -> outside any bracket  (" in text
    assert "             no longer runs between swap's enter and exit" in text
    markdown = texts(BASE, OUTSIDE, tmp_path, "--format", "markdown")
    assert "- bracket of `publish`: inside `with swap` → outside any bracket (" in markdown
    assert "  - no longer runs between `swap`'s enter and exit" in markdown
    document = json.loads(texts(BASE, OUTSIDE, tmp_path, "--format", "json"))
    SCHEMA.validate(document)
    (phase,) = document["files"][0]["phases"]
    assert phase["phase"] == "step.after" and phase["moved"] == [] and phase["frequency"] == []
    (change,) = phase["brackets"]
    assert (change["hook"], change["base"], change["head"], change["left"], change["entered"]) == (
        "publish", ["swap"], [], ["swap"], [])
    back = json.loads(texts(OUTSIDE, BASE, tmp_path, "--format", "json"))["files"][0]["phases"][0]["brackets"]
    assert [(c["hook"], c["entered"]) for c in back] == [("publish", ["swap"])]


def test_a_plain_attachment_that_becomes_a_bracket_is_reported(variants: dict[str, Compilation]) -> None:
    diff = diff_compilations("train.pipe", variants["base"], variants["stamp brackets nothing"])
    (phase,) = [p for p in diff.phases if p.changed]
    assert [(c.hook, c.base_opens, c.head_opens) for c in phase.brackets] == [("stamp", False, True)]
    assert phase.added == phase.removed == phase.moved == phase.frequency == []


def test_plans_with_different_hashes_never_give_an_empty_report(variants: dict[str, Compilation]) -> None:
    """Every pair of edits: a different hash is always itemised, in text and Markdown; an equal one is not."""
    differing = 0
    for (a, base), (b, head) in itertools.permutations(variants.items(), 2):
        diff = diff_compilations("train.pipe", base, head)
        if diff.base_hash == diff.head_hash:
            assert diff.status == "unchanged", (a, b)
            continue
        differing += 1
        body = to_text([diff], a, b).split("plan changed (", 1)[1].splitlines()[1:]
        assert body, f"{a} -> {b}: an empty report"
        assert to_markdown([diff], a, b).split("plan changed (", 1)[1].count("\n- ") >= 1, (a, b)
        assert diff.status == "changed" and diff.itemised, (a, b)
    assert differing >= 300  # only "reformatted" has the base's hash


# --- 3. the published schema -------------------------------------------------------------------


@pytest.mark.parametrize(("head", "phase"), [
    ("show every 40 batches", "validation[evaluate].batch.after"),
    ("publish outside swap", "step.after"),
    ("publish ranges swapped", "step.after"),
])
def test_json_of_validation_block_and_bracket_changes_matches_the_schema(tmp_path: Path, head: str,
                                                                         phase: str) -> None:
    base = "publish ranges" if head == "publish ranges swapped" else "base"
    document = json.loads(texts(VARIANTS[base], VARIANTS[head], tmp_path, "--format", "json"))
    SCHEMA.validate(document)
    assert [p["phase"] for p in document["files"][0]["phases"]] == [phase]


def test_the_schema_accepts_every_phase_name_the_compiler_makes(variants: dict[str, Compilation]) -> None:
    pattern = SCHEMA.schema["definitions"]["phase"]["properties"]["phase"]
    for scope, phase in variants["base"].phase_keys():
        jsonschema.validate(f"{scope}.{phase}", pattern)


# --- 2. long values are cut where they differ --------------------------------------------------


def test_long_paths_keep_their_end_and_long_values_their_difference() -> None:
    folder = "services/training/configs/experiments/2024q3/resnet50_imagenet_ablations/lr_warmup_and_label_smoothing"
    assert len(folder) + len("_v3_a/train.pipe:12") > MAX_VALUE
    diffs = [FileDiff(f"{folder}_v3_{side}/train.pipe", "changed", phases=[PhaseDiff(
        "step", "after", added=[AttachmentRef("save", 1, 1, "", f"{folder}_v3_{side}/train.pipe:12")])],
        hooks=[HookChange("save", "changed", f"{folder}_v3_{side}/train.pipe:3",
                          args=[ValueChange("dir", '"runs/' + "a" * 150 + 'X"', '"runs/' + "a" * 150 + 'Y"')])])
        for side in ("a", "b")]
    text = to_text(diffs, "main", "working tree")
    places = [line.rsplit("  (", 1)[1] for line in text.splitlines() if line.startswith("    added ")]
    assert [p.endswith(f"_v3_{side}/train.pipe:12)") and "…" in p for p, side in zip(places, "ab")] == [True] * 2
    assert "_v3_a/train.pipe: plan changed" in text and "_v3_b/train.pipe: plan changed" in text
    assert 'aaaaX" -> …aaa' in text and text.rstrip().endswith('aY"'), text
    markdown = to_markdown(diffs, "main", "working tree")
    assert "_v3_b/train.pipe:12`)" in markdown and 'aX"` → `…' in markdown
    for line in text.splitlines():  # still cut: a 100 kB value is not read in a review
        assert len(line) < 3 * MAX_VALUE, line


def test_ordering_reasons_are_not_cut_mid_word() -> None:
    reason = ("evaluate -> save: written order at configs/train.pipe:18; `order` statement at "
              "configs/train.pipe:31; effect rule: metrics (write < read)")
    assert len(reason) > MAX_VALUE
    move = Move("losses", 1, 3, 6, "train.pipe:19", (Flip("speed", "after", (reason,), (reason,)),))
    diff = FileDiff("train.pipe", "changed", phases=[PhaseDiff("step", "after", moved=[move])])
    assert f"HEAD: {reason}\n" in to_text([diff], "a", "b")
    assert f"    - BASE: ``{reason}``" in to_markdown([diff], "a", "b")


# --- 4. same firings, written differently ------------------------------------------------------


def test_every_step_where_no_frequency_means_the_same_is_no_timing_change(tmp_path: Path) -> None:
    head = BASE.replace("                optimize\n", "                optimize every 1 steps\n")
    text = texts(BASE, head, tmp_path)
    assert "timing" not in text
    assert "    rewrite  optimize: every time -> every step  (" in text
    assert "the same firings: step.after runs once per step" in text
    # not the same: under grad_accumulation a step is an update only at the end of a window
    update = texts(BASE, BASE.replace("                optimize\n", "                optimize every update\n"),
                   tmp_path)
    assert "    timing   optimize: every time -> every update  (" in update and "rewrite" not in update


def test_lines_of_one_hook_with_disjoint_ranges_in_another_order_are_no_timing_change(
        variants: dict[str, Compilation]) -> None:
    diff = diff_compilations("train.pipe", variants["publish ranges"], variants["publish ranges swapped"])
    (phase,) = [p for p in diff.phases if p.shown]
    assert not phase.changed and phase.frequency == [] and phase.moved == []
    (note,) = phase.rewritten
    assert (note.hook, note.base, note.head) == ("publish", "every 10 steps until 100; every 200 steps and at end",
                                                 "every 200 steps and at end; every 10 steps until 100")


def test_lines_whose_order_can_matter_are_still_compared_one_by_one() -> None:
    """Overlapping ranges, or another hook between the lines: the order is seen, so it is reported."""
    overlapping = BASE.replace(PUBLISH, "                    publish every 10 steps until 300\n"
                                        "                    publish every 200 steps\n")
    swapped = BASE.replace(PUBLISH, "                    publish every 200 steps\n"
                                    "                    publish every 10 steps until 300\n")
    diff = diff_compilations("t", compiled(overlapping), compiled(swapped))
    assert [f.hook for p in diff.phases for f in p.frequency] == ["publish", "publish"]
    lines = ("                    publish every 10 steps until 100\n", "                    stamp\n",
             "                    publish every 200 steps from 200\n")
    outside = BASE.replace("                }\n                stamp\n", "                }\n")
    between = outside.replace(PUBLISH, "".join(lines))
    across = outside.replace(PUBLISH, "".join(reversed(lines)))
    diff = diff_compilations("t", compiled(between), compiled(across))
    assert [f.hook for p in diff.phases for f in p.frequency] == ["publish", "publish"]
    assert not any(p.rewritten for p in diff.phases)


# --- 5. `until` ---------------------------------------------------------------------------------


def test_a_changed_until_shows_the_last_firing(tmp_path: Path) -> None:
    assert first_firings(Guard("update", 10, 100, until=4000)) == "updates 100, 110, 120 … 4000"
    assert first_firings(Guard("epoch", 10, 10, until=285)) == "epochs 10, 20, 30 … 280"
    assert first_firings(Guard("epoch", 10, 10, until=40)) == "epochs 10, 20, 30, 40"
    assert first_firings(Guard("epoch", 10, 10, until=30)) == "epochs 10, 20, 30"
    until = VARIANTS["publish until 1000"]
    text = texts(until, until.replace("until 1000", "until 600"), tmp_path)
    assert "fires at steps 200, 400, 600 … 1000 -> steps 200, 400, 600" in text


# --- 8. the documented examples are the tool's output ------------------------------------------


def test_the_markdown_examples_of_docs_diff_md_are_what_the_tool_prints() -> None:
    """Each ```markdown block of docs/diff.md, cut at its ``...`` lines, is a stretch of a fixture's comment.

    The page showed an older comment (no "Plans of ... compared with ..." line, other
    hashes): ``HOOKPIPE_UPDATE_GOLDEN=1`` rewrites the fixtures, and this says when
    the page is left behind.
    """
    page = (ROOT / "docs" / "diff.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in page.split("```markdown\n")[1:]]
    goldens = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "fixtures" / "diff").glob(
        "*/expected.md"))]
    assert len(blocks) >= 2
    for block in blocks:
        pieces = [piece for piece in block.split("...\n") if piece.strip()]
        assert any(_in_order(pieces, golden) for golden in goldens), block


def _in_order(pieces: list[str], text: str) -> bool:
    at = 0
    for piece in pieces:
        found = text.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


@pytest.mark.parametrize("name", ["hookpipe.compiler.plan_diff", "hookpipe.commands.diff_formats"])
def test_the_examples_in_the_diff_modules_run_as_written(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_interchangeable_lines_keep_their_keys_when_another_attachment_moves_past_one() -> None:
    """`a, x, b` -> `b, a, x` (a, b one hook, disjoint): x moved; a and b keep their timings."""
    outside = BASE.replace("                }\n                stamp\n", "                }\n")
    a, x, b = ("                    publish every 10 steps until 100\n", "                    stamp\n",
               "                    publish every 200 steps from 200\n")
    diff = diff_compilations("t", compiled(outside.replace(PUBLISH, a + x + b)),
                             compiled(outside.replace(PUBLISH, b + a + x)))
    (phase,) = [p for p in diff.phases if p.shown]
    assert phase.frequency == [] and phase.rewritten == []
    assert [(m.hook, m.base_position, m.head_position) for m in phase.moved] == [("stamp", 6, 7)]
    assert phase.head_order[-3:] == ["publish", "publish#2", "stamp"]
