"""`hookpipe render` and `Plan.render`: every example, every format, every renderer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from benchmarks.render_1k import pipeline  # the benchmark's generated pipelines of N hooks
from hookpipe.cli import main as cli
from hookpipe.compiler.pipeline import compile_file, compile_path
from hookpipe.render import RenderError, render_compilation, render_file, render_model, render_plan
from hookpipe.render.engine import MAX_PNG_SIDE, png_size
from hookpipe.render.model import ScopeCluster, from_compilation
from tests.helpers import FIXTURES, ROOT, examples, golden, renderers, resolve

SVG = "{http://www.w3.org/2000/svg}"
DIGITS = ROOT / "examples" / "digits" / "train.pipe"

CYCLE = """\
pipeline "broken"
trainer {
    max_step = 10
}
hook clip     = grad_clip(max_norm = 1.0)
hook optimize = optimizer()
hook a        = "pkg.A"()
hook b        = "pkg.B"()
loop {
    before { a -> b }
    epoch {
        step {
            after { optimize -> clip }
        }
    }
}
order b before a
"""


def _expected_clusters(cluster: ScopeCluster) -> set[str]:
    names = {f"cluster_{cluster.name}", f"cluster_{cluster.name}_before", f"cluster_{cluster.name}_after"}
    for child in cluster.children:
        names |= _expected_clusters(child)
    return names


def _svg_titles(path: Path) -> tuple[list[str], list[str]]:
    """(node titles, cluster titles) of a Graphviz SVG, which must parse as XML."""
    root = ET.parse(path).getroot()
    nodes, clusters = [], []
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if title is None:
            continue
        if group.get("class") == "node":
            nodes.append(title.text or "")
        elif group.get("class") == "cluster":
            clusters.append(title.text or "")
    return nodes, clusters


@pytest.mark.parametrize("renderer", renderers())
@pytest.mark.parametrize("example", examples(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_renders_to_svg_png_dot_and_mermaid(example: Path, renderer: str, tmp_path: Path) -> None:
    ctx = compile_path(example)
    model = from_compilation(ctx)
    attachments = {f"a{n.id}" for n in ctx.nodes}
    assert attachments, "an example with no attachments draws nothing useful"

    render_compilation(ctx, tmp_path / "g.dot")
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph hookpipe {")
    assert set(re.findall(r"^\s*(a\d+) \[", dot, re.M)) == attachments

    render_compilation(ctx, tmp_path / "g.svg", resolve(renderer))
    nodes, clusters = _svg_titles(tmp_path / "g.svg")
    assert sorted(n for n in nodes if re.fullmatch(r"a\d+", n)) == sorted(attachments)
    assert set(clusters) == _expected_clusters(model.root)

    result = render_compilation(ctx, tmp_path / "g.png", resolve(renderer))
    header = (tmp_path / "g.png").read_bytes()[:32]
    size = png_size(header)
    assert size is not None, f"not a PNG: {header!r}"
    width, height = size
    assert 100 <= width <= MAX_PNG_SIDE and 100 <= height <= MAX_PNG_SIDE
    assert result.notes == []

    render_compilation(ctx, tmp_path / "g.mmd")
    mermaid = (tmp_path / "g.mmd").read_text()
    assert "flowchart TB" in mermaid and 'subgraph s_loop["loop"]' in mermaid
    assert set(re.findall(r"^\s*(a\d+)\[", mermaid, re.M)) == attachments
    assert list(tmp_path.glob(".*.tmp")) == []


def test_digits_dot_matches_golden_and_is_stable(tmp_path: Path) -> None:
    out = tmp_path / "digits.dot"
    assert cli(["render", str(DIGITS), "-o", str(out)]) == 0
    text = out.read_text()
    assert text == golden(FIXTURES / "render" / "digits.dot", text)
    again = tmp_path / "again.dot"
    assert cli(["render", os.path.relpath(DIGITS), "-o", str(again)]) == 0  # the path's spelling does not matter
    assert again.read_text() == text


def test_digits_picture_shows_hooks_types_frequencies_and_origins(tmp_path: Path) -> None:
    render_compilation(compile_path(DIGITS), tmp_path / "d.dot")
    dot = (tmp_path / "d.dot").read_text()
    assert "<b>save</b><br/>" in dot and "checkpoint" in dot and "every 400 steps" in dot
    assert re.search(r"a5 \[label=<<b>speed</b>.*every 50 steps.*on main", dot)
    # one edge per kind of origin: evaluate -> save is written, `order`, and the metrics effect
    between = re.findall(r"^\s*a3 -> a4 \[(.*)\]$", dot, re.M)
    assert len(between) == 3
    assert any('label=" order "' in e and "dashed" in e for e in between)
    assert any('label=" metrics "' in e and "dotted" in e for e in between)
    assert any("solid" in e and "label" not in e for e in between)


@pytest.mark.parametrize("renderer", renderers())
def test_a_broken_pipeline_is_drawn_with_its_cycle_in_red(renderer: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "broken.pipe"
    source.write_text(CYCLE)
    out = tmp_path / "broken.svg"
    assert cli(["render", str(source), "-o", str(out), "--renderer", resolve(renderer)]) == 1
    err = capsys.readouterr().err
    assert "HP004" in err and "HP005" in err and "drawn to" in err
    nodes, _ = _svg_titles(out)
    assert {"a0", "a1", "a2", "a3"} <= set(nodes)
    assert cli(["render", str(source), "-o", str(tmp_path / "broken.dot")]) == 1
    dot = (tmp_path / "broken.dot").read_text()
    red = re.findall(r"^\s*(a\d+ -> a\d+) \[.*color=\"#d62728\"", dot, re.M)
    # HP004 blames both steps of its cycle, a -> b (written) and b -> a (order); HP005 the
    # effect edge the written `optimize -> clip` violates, clip -> optimize (grads), only
    assert sorted(red) == ["a0 -> a1", "a1 -> a0", "a3 -> a2"]
    assert 'label=" grads "' in dot
    assert "broken (broken.pipe)  (2 errors)" in dot


def test_graphs_are_built_for_the_drawing_when_earlier_errors_stopped_the_compiler(tmp_path: Path) -> None:
    source = tmp_path / "nolength.pipe"
    source.write_text(CYCLE.replace("    max_step = 10\n", ""))  # HP008 stops the passes before the graphs
    assert not compile_path(source).graphs
    ctx = compile_path(source, for_drawing=True)
    assert ctx.graphs and ctx.plan is None
    model = from_compilation(ctx)
    assert sorted((e.source, e.target, e.kind) for e in model.edges if e.bad) == [
        (0, 1, "written"), (1, 0, "order"), (3, 2, "effect")]
    assert {"HP004", "HP005", "HP008"} <= {d.code for d in ctx.diagnostics}
    # drawing reads the compilation; it never runs a pass (no diagnostics appear)
    before = list(ctx.diagnostics)
    from_compilation(ctx)
    assert ctx.diagnostics == before


def test_syntax_errors_draw_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad.pipe"
    source.write_text("hook a = \n")
    assert cli(["render", str(source), "-o", str(tmp_path / "bad.svg")]) == 1
    assert "HP001" in capsys.readouterr().err
    assert not (tmp_path / "bad.svg").exists()


def test_unknown_extension_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["render", str(DIGITS), "-o", str(tmp_path / "g.jpg")]) == 2
    assert ".svg" in capsys.readouterr().err


@pytest.mark.parametrize("renderer", renderers())
def test_pdf_needs_real_dot(renderer: str, tmp_path: Path) -> None:
    ctx = compile_path(DIGITS)
    out = tmp_path / "g.pdf"
    if renderer == "dot":
        render_compilation(ctx, out, resolve(renderer))
        assert out.read_bytes()[:5] == b"%PDF-"
    else:
        with pytest.raises(RenderError, match="PDF output needs Graphviz's `dot`"):
            render_compilation(ctx, out, resolve(renderer))
        assert not out.exists()


def test_a_huge_png_is_capped_and_says_so(tmp_path: Path) -> None:
    source = tmp_path / "big.pipe"
    source.write_text(pipeline(400))
    result = render_compilation(compile_path(source), tmp_path / "big.png", resolve("graphviz-pure"))
    size = png_size((tmp_path / "big.png").read_bytes()[:32])
    assert size is not None and max(size) <= MAX_PNG_SIDE
    assert result.notes and "scaled down" in result.notes[0] and ".svg" in result.notes[0]


def test_render_file_draws_what_the_render_command_draws(tmp_path: Path) -> None:
    render_file(DIGITS, tmp_path / "file.dot")
    direct = tmp_path / "direct.dot"
    render_compilation(compile_path(DIGITS), direct)
    assert (tmp_path / "file.dot").read_text() == direct.read_text()
    assert 'a1 -> a2 [label=" grads "' in direct.read_text()  # an effect edge: its origin is drawn


def test_render_plan_draws_the_lowered_order(tmp_path: Path) -> None:
    source = tmp_path / "gone.pipe"
    source.write_text(DIGITS.read_text())
    plan = compile_file(source)
    source.unlink()
    render_plan(plan, tmp_path / "plan.dot")
    dot = (tmp_path / "plan.dot").read_text()
    assert "order" not in re.findall(r"label=\" (\w+) \"", dot)
    edges = re.findall(r"^\s*(a\d+) -> (a\d+) \[color=\"#999999\"", dot, re.M)
    assert edges == [("a1", "a2"), ("a2", "a3"), ("a3", "a4"), ("a4", "a5")]
    render_plan(plan, tmp_path / "plan.mmd")
    assert "a4 --> a5" in (tmp_path / "plan.mmd").read_text()


def test_large_graphs_use_external_labels(tmp_path: Path) -> None:
    source = tmp_path / "big.pipe"
    source.write_text(pipeline(200))
    render_model(from_compilation(compile_path(source)), tmp_path / "big.dot")
    dot = (tmp_path / "big.dot").read_text()
    assert "xlabel=" in dot and " label=\" " not in dot and "mclimit=0.1" in dot


@pytest.mark.slow
def test_check_and_the_compiler_never_import_graphviz() -> None:
    code = ("import sys, hookpipe, hookpipe.cli, hookpipe.compiler, hookpipe.dsl.formatter;"
            "hookpipe.cli.build_parser();"
            "hookpipe.compile_file('examples/digits/train.pipe');"
            "assert 'graphviz' not in sys.modules, 'graphviz imported';"
            "assert 'torch' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
