"""Bounded reports (hostile pull request trial): include cycles and repeated findings.

A folder of 60 files that all include one another printed 70 MB in 28 s (every
pipeline spelled out each of its 1,770 include cycles, with chains of up to 60
names), and one file attaching a hook 99,990 times printed 99,989 HP107 warnings
(37 MB of text, 152 MB of SARIF). These tests use small sizes and check the shape:
how many findings, how much output, how much work, and that each file still
names its own cycle. The figures are in docs/ci.md.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

import hookpipe.compiler.loader as loader
from hookpipe.compiler import compile_path
from hookpipe.compiler.plan import Guard
from hookpipe.diagnostics import MAX_PER_FILE, Diagnostic, cap_per_file
from hookpipe.dsl.span import Span
from hookpipe.lint.config import Overrides
from hookpipe.lint.formats import render
from hookpipe.lint.rules import hp107
from hookpipe.lint.runner import lint_paths
from tests.helpers import run_cli

N = 25  # files that all include one another: 300 cycle-closing includes per pipeline


def clique(folder: Path, n: int = N) -> list[Path]:
    """``n`` files, each including all the others (as the trial's ``repro/clique``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("")
    paths = []
    for i in range(n):
        text = "".join(f'include "k{j}.pipe"\n' for j in range(n) if j != i)
        text += f"trainer {{ max_step = 10 }}\nhook o{i} = optimizer()\n"
        (folder / f"k{i}.pipe").write_text(text)
        paths.append(folder / f"k{i}.pipe")
    return paths


def hp010(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code == "HP010"]


# --- include cycles -------------------------------------------------------------------------------------------


def test_a_clique_of_includes_is_a_few_cycles_per_pipeline_and_one_count(tmp_path: Path) -> None:
    """One pipeline: the shortest cycle through the main file first, two more, and the rest counted exactly."""
    clique(tmp_path)
    ctx = compile_path(tmp_path / "k3.pipe")
    found = hp010(ctx.diagnostics)
    assert len(found) == loader.MAX_CYCLES_SHOWN + 1  # was 300, one per include closing a cycle
    cycles = [d for d in found if d.message.startswith("include cycle: ")]
    assert len(cycles) == loader.MAX_CYCLES_SHOWN
    # k3 includes k0 first; k0's `include "k3.pipe"` (its line 3) closes the shortest cycle through k3
    first = next(d for d in cycles if d.message == "include cycle: k3.pipe -> k0.pipe -> k3.pipe")
    assert Path(first.span.file).name == "k0.pipe" and first.span.line == 3
    (more,) = [d for d in found if "more include statements close include cycles" in d.message]
    shown = loader.MAX_CYCLES_SHOWN
    assert more.message.startswith(f"{N * (N - 1) // 2 - shown} more include statements close include cycles in "
                                   "`k3.pipe`")
    assert more.severity == "error" and all(d.severity == "error" for d in found)
    for d in cycles:  # each chain is a cycle: it starts and ends at the same file
        names = d.message.removeprefix("include cycle: ").split(" -> ")
        assert names[0] == names[-1] and len(names) <= N + 1


def test_lint_of_a_clique_is_bounded_and_each_file_names_its_own_cycle(tmp_path: Path) -> None:
    paths = clique(tmp_path / "c")
    result = lint_paths([str(tmp_path / "c")], jobs=1)
    assert len(result.files) == N and result.failed
    found = hp010(result.diagnostics)
    # was 7,500 (300 per pipeline); now at most MAX_CYCLES_SHOWN + 1 per pipeline, fewer once merged
    assert len(found) <= N * (loader.MAX_CYCLES_SHOWN + 1)
    for path in paths:  # every linted file still gets an error naming a cycle through it
        name = path.name
        assert any(re.fullmatch(rf"include cycle: {re.escape(name)} -> .* -> {re.escape(name)}", d.message)
                   for d in found), name
    text = render("text", result, False)
    sarif = render("sarif", result, False)
    assert len(text) < 60_000 and len(sarif) < 300_000  # was 2.3 MB of text
    checked = run_cli("check", str(tmp_path / "c"))  # each file on its own: four errors each
    assert checked.code == 1 and checked.err.count("HP010") == N * (loader.MAX_CYCLES_SHOWN + 1)
    assert len(checked.output) < 40_000


def test_one_load_of_a_clique_checks_each_include_path_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The root check (path joins, normalisation) runs once per include path and folder, not once per include line."""
    clique(tmp_path)
    calls: list[Path] = []
    real = loader.inside

    def counting(path: Path, root: Path) -> bool:
        calls.append(path)
        return real(path, root)

    monkeypatch.setattr(loader, "inside", counting)
    compile_path(tmp_path / "k0.pipe")
    assert len(calls) <= 2 * N  # was two per include line: 2 * 600


def test_a_cycle_below_the_main_file_names_the_cycle_and_how_the_main_file_reaches_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "main.pipe").write_text('include "a.pipe"\ntrainer { max_step = 10 }\nhook o = optimizer()\n')
    (tmp_path / "a.pipe").write_text('include "b.pipe"\n')
    (tmp_path / "b.pipe").write_text('include "a.pipe"\n')
    (d,) = compile_path(tmp_path / "main.pipe").diagnostics
    assert (d.code, d.message) == ("HP010", "include cycle: a.pipe -> b.pipe -> a.pipe")  # was main.pipe -> a.pipe...
    assert Path(d.span.file).name == "b.pipe" and d.span.line == 1
    assert [n.message for n in d.notes] == ["reached from `main.pipe`: main.pipe -> a.pipe"]


def test_a_few_cycles_are_each_reported(tmp_path: Path) -> None:
    """At most MAX_CYCLES_SHOWN cycles: each is reported as before, with no count."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "main.pipe").write_text('include "a.pipe"\ninclude "b.pipe"\ntrainer { max_step = 10 }\n')
    (tmp_path / "a.pipe").write_text('include "main.pipe"\n')
    (tmp_path / "b.pipe").write_text('include "main.pipe"\n')
    found = hp010(compile_path(tmp_path / "main.pipe").diagnostics)
    assert sorted(d.message for d in found) == ["include cycle: main.pipe -> a.pipe -> main.pipe",
                                                "include cycle: main.pipe -> b.pipe -> main.pipe"]


def test_includes_past_the_depth_limit_are_a_few_errors_and_one_count(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_INCLUDE_DEPTH", 4)
    (tmp_path / "pyproject.toml").write_text("")
    for i in range(4):
        (tmp_path / f"f{i}.pipe").write_text(f'include "f{i + 1}.pipe"\n')
    (tmp_path / "f4.pipe").write_text("".join(f'include "g{j}.pipe"\n' for j in range(10)))
    for j in range(10):
        (tmp_path / f"g{j}.pipe").write_text(f"hook h{j} = optimizer()\n")
    found = hp010(compile_path(tmp_path / "f0.pipe").diagnostics)
    deep = [d for d in found if d.message == "includes nest more than 4 files deep"]
    assert [d.span.line for d in deep] == [1, 2, 3]  # was 10 errors, one per include of f4.pipe
    (more,) = [d for d in found if d not in deep]
    assert more.message.startswith("7 more includes nest more than 4 files deep in `f0.pipe`")
    assert more.span.line == 4 and more.severity == "error"


# --- HP107 and the per-file cap -------------------------------------------------------------------------------

HEAD = "trainer {\n    max_step = 10\n}\nhook o = optimizer()\nloop { epoch { step { after {\n"


def test_hp107_is_capped_per_phase_with_one_count(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "chain.pipe"
    path.write_text(HEAD + " ->\n".join(["o"] * 500) + "\n} } } }\n")
    result = lint_paths([str(path)], Overrides(select=("HP107",)), jobs=1)
    found = [d for d in result.diagnostics if d.code == "HP107"]
    assert len(found) == hp107.MAX_FINDINGS + 1  # was 499
    shown = [d for d in found if d.message == "`o` is attached twice in step.after"]
    assert len(shown) == hp107.MAX_FINDINGS
    assert all(d.notes[0].message == "first attached here" and d.notes[0].span.line == 6 for d in shown)
    (more,) = [d for d in found if d not in shown]
    assert more.message.startswith(f"{499 - hp107.MAX_FINDINGS} more attachments in step.after repeat a hook")
    assert more.span.line == 6 + hp107.MAX_FINDINGS + 1 and more.severity == "warning"
    assert len(render("sarif", result, False)) < 200_000  # was 1.5 MB
    strict = run_cli("lint", "--select", "HP107", "--warnings-as-errors", str(path))
    assert strict.code == 1 and "449 more attachments" in strict.out


def test_hp107_compares_disjoint_ranges_without_comparing_every_pair(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 attachments with disjoint ranges: no finding, and not 2,000,000 guard comparisons (it took 30 s at 5,000)."""
    calls = 0
    real = Guard.overlaps

    def counting(self: Guard, other: Guard) -> Any:
        nonlocal calls
        calls += 1
        return real(self, other)

    monkeypatch.setattr(Guard, "overlaps", counting)
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "ranges.pipe"
    path.write_text(HEAD + " ->\n".join(f"o every step from {k} until {k}" for k in range(1, 2001))
                    + " ->\no every step from 1999\n} } } }\n")
    result = lint_paths([str(path)], Overrides(select=("HP107",)), jobs=1)
    found = [d for d in result.diagnostics if d.code == "HP107"]
    assert [(d.span.line, d.notes[0].span.line if d.notes[0].span else None) for d in found] == [
        (6 + 2000, 6 + 1998)]  # the last meets `from 1999 until 1999` first
    assert calls < 10_000


def test_hp107_finds_the_same_first_clash_as_comparing_every_pair() -> None:
    """``_Earlier`` answers exactly as ``Guard.overlaps`` against every earlier attachment."""
    rng = random.Random(7)
    units = [None, "step", "epoch"]
    guards = []
    for _ in range(400):
        unit = rng.choice(units)
        start = rng.randint(1, 60)
        guards.append(Guard(unit, rng.randint(1, 5), start, rng.random() < 0.1,
                            rng.choice([None, start + rng.randint(0, 8)])) if unit else Guard())
    for size in (3, 10, 40, 400):
        sample = guards[:size]
        starts: dict[str, list[int]] = {}
        for g in sample:
            if g.unit is not None:
                starts.setdefault(g.unit, []).append(g.start)
        earlier = hp107._Earlier(starts)
        for i, g in enumerate(sample):
            assert earlier.overlaps(g) == any(e.overlaps(g) for e in sample[:i]), (size, i)
            earlier.add(None, g)  # type: ignore[arg-type]  # the node is only kept, never read here


def test_many_findings_of_one_code_in_one_file_are_capped_with_a_count(tmp_path: Path) -> None:
    """Any code past MAX_PER_FILE in one file (here HP101, a guard that never fires) ends in one count."""
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "late.pipe"
    n = MAX_PER_FILE + 30
    path.write_text(HEAD + " ->\n".join(f"o every step from {k} until {k}" for k in range(11, 11 + n)) + "\n} } } }\n")
    result = lint_paths([str(path)], Overrides(select=("HP101",)), jobs=1)
    assert [d.code for d in result.diagnostics] == ["HP101"] * (MAX_PER_FILE + 1)
    last = result.diagnostics[-1]
    assert last.message == "30 more HP101 diagnostics in this file are not shown (the first of them is here)"
    assert last.span.line == 6 + MAX_PER_FILE
    strict = lint_paths([str(path)], Overrides(select=("HP101",), warnings_as_errors=True), jobs=1)
    assert strict.failed and strict.errors == MAX_PER_FILE + 1


def test_the_cap_keeps_short_lists_and_an_error_left_out_keeps_the_count_an_error() -> None:
    def d(severity: Any, line: int, file: str = "a.pipe") -> Diagnostic:
        return Diagnostic("HP001", severity, f"m{line}", Span(file, line, 1, line, 2))

    few = [d("warning", 1), d("warning", 2), d("warning", 1, "b.pipe")]
    assert cap_per_file(few, limit=2) == few
    capped = cap_per_file([d("warning", 1), d("warning", 2), d("warning", 3), d("error", 4)], limit=2)
    assert [x.message for x in capped[:2]] == ["m1", "m2"]
    assert capped[2].severity == "error" and capped[2].span.line == 3
    assert capped[2].message.startswith("2 more HP001 diagnostics in this file")
