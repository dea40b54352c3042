"""Which renderer runs, with fake executables and a stripped PATH; atomic outputs."""

from __future__ import annotations

import os
import stat
import sys
import sysconfig
from pathlib import Path

import pytest

from hookpipe.render import engine
from hookpipe.render.engine import ENV_VAR, Renderer, RenderError, find_renderer, run_renderer

PYTHON = sys.executable  # before any test swaps it out

FAKE = """#!{python}
import sys
out = [a[2:] for a in sys.argv[1:] if a.startswith("-o")][0]
sys.stdin.read()
open(out, "w").write("{name} " + " ".join(a for a in sys.argv[1:] if not a.startswith("-o")))
sys.exit({code})
"""


def _fake(folder: Path, name: str, code: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(FAKE.format(python=PYTHON, name=name, code=code))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds only an empty folder, and the interpreter's scripts folder is an empty one too."""
    empty = tmp_path / "empty"
    empty.mkdir()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(ENV_VAR, raising=False)
    real = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(scripts) if name == "scripts" else real(name))
    monkeypatch.setattr(sys, "executable", str(scripts / "python"))
    return tmp_path


def test_nothing_found_says_what_to_install(isolated: Path) -> None:
    with pytest.raises(RenderError) as caught:
        find_renderer()
    message = str(caught.value)
    assert "graphviz-pure" in message and "apt-get install graphviz" in message and "--renderer" in message


def test_graphviz_pure_in_the_scripts_folder_of_an_inactive_venv(isolated: Path) -> None:
    pure = _fake(isolated / "scripts", "graphviz-pure")
    assert find_renderer() == Renderer(str(pure), "graphviz-pure")


def test_graphviz_pure_on_path_beats_the_scripts_folder(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(isolated / "scripts", "graphviz-pure")
    on_path = _fake(isolated / "bin", "graphviz-pure")
    monkeypatch.setenv("PATH", str(isolated / "bin"))
    assert find_renderer() == Renderer(str(on_path), "graphviz-pure")


def test_dot_beats_graphviz_pure(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(isolated / "bin", "graphviz-pure")
    dot = _fake(isolated / "bin2", "dot")
    monkeypatch.setenv("PATH", os.pathsep.join([str(isolated / "bin"), str(isolated / "bin2")]))
    assert find_renderer() == Renderer(str(dot), "dot")


def test_env_beats_dot_and_explicit_beats_env(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(isolated / "bin", "dot")
    monkeypatch.setenv("PATH", str(isolated / "bin"))
    from_env = _fake(isolated / "env", "my-dot")
    monkeypatch.setenv(ENV_VAR, str(from_env))
    assert find_renderer() == Renderer(str(from_env), "env")
    explicit = _fake(isolated / "cli", "other-dot")
    assert find_renderer(str(explicit)) == Renderer(str(explicit), "explicit")


def test_an_explicit_renderer_that_is_missing_is_an_error_not_a_fallback(isolated: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(isolated / "bin", "dot")
    monkeypatch.setenv("PATH", str(isolated / "bin"))
    with pytest.raises(RenderError, match="--renderer"):
        find_renderer(str(isolated / "nope"))
    monkeypatch.setenv(ENV_VAR, "no-such-renderer")
    with pytest.raises(RenderError, match=ENV_VAR):
        find_renderer()


def test_an_explicit_name_is_looked_up_in_the_scripts_folder_too(isolated: Path) -> None:
    pure = _fake(isolated / "scripts", "graphviz-pure")
    assert find_renderer("graphviz-pure") == Renderer(str(pure), "explicit")


def test_the_renderer_gets_dot_flags_and_png_is_capped(isolated: Path) -> None:
    fake = _fake(isolated / "bin", "dot")
    out = isolated / "g.png"
    run_renderer(Renderer(str(fake), "dot"), "digraph {}", "png", out)
    written = out.read_text().split()
    assert written[:2] == ["dot", "-Tpng"]
    assert f"-Gdpi={engine.PNG_DPI}" in written and any(a.startswith("-Gsize=") for a in written)


def test_a_failing_renderer_leaves_the_old_output_untouched(isolated: Path) -> None:
    broken = _fake(isolated / "bin", "dot", code=3)
    out = isolated / "g.svg"
    out.write_text("old picture")
    with pytest.raises(RenderError, match="exit 3"):
        run_renderer(Renderer(str(broken), "dot"), "digraph {}", "svg", out)
    assert out.read_text() == "old picture"
    assert sorted(p.name for p in isolated.iterdir() if p.is_file()) == ["g.svg"]


def test_pdf_is_refused_by_graphviz_pure_before_running_it(isolated: Path) -> None:
    pure = _fake(isolated / "bin", "graphviz-pure")
    with pytest.raises(RenderError, match="PDF output needs Graphviz's `dot`"):
        run_renderer(Renderer(str(pure), "graphviz-pure"), "digraph {}", "pdf", isolated / "g.pdf")
    assert not (isolated / "g.pdf").exists()


def test_text_formats_need_no_renderer(isolated: Path) -> None:
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.render import render_compilation
    from tests.helpers import ROOT

    ctx = compile_path(ROOT / "examples" / "digits" / "train.pipe")
    render_compilation(ctx, isolated / "g.dot")
    render_compilation(ctx, isolated / "g.mmd")
    assert (isolated / "g.dot").stat().st_size > 0 and (isolated / "g.mmd").stat().st_size > 0
    with pytest.raises(RenderError, match="no Graphviz renderer found"):
        render_compilation(ctx, isolated / "g.svg")
    assert not (isolated / "g.svg").exists()
