"""Bounded work inside the limits (issue 23): attachments, shared includes, deep folders.

A 4 MiB file (under the size limit) of one-line attachments, 60 files sharing a
190 KB include, 1,100 nested folders: each ends in a clear message or a normal
report, never a ``MemoryError``, a ``RecursionError`` or minutes of repeated work.
(The figures are measured by hand and in the closing notes; these tests check the shape.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import hookpipe.compiler.pipeline as pipeline
import hookpipe.lint.runner as runner
from hookpipe.compiler import compile_path
from tests.helpers import run_cli

HEAD = "trainer {\n    max_step = 10\n}\nhook o = optimizer()\nhook l = log()\nloop { epoch { step { after {\n"


def _attachments(n: int) -> str:
    return HEAD + "    l every 7 steps\n" * n + "    o -> l\n} } } }\n"


def test_too_many_attachments_is_one_early_error_naming_the_limit_and_the_count(tmp_path: Path,
                                                                                monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "MAX_ATTACHMENTS", 50)
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "big.pipe"
    path.write_text(_attachments(60), encoding="utf-8")
    ctx = compile_path(path)
    assert [(d.code, d.message) for d in ctx.diagnostics] == [
        ("HP001", "the pipeline has 62 attachments; the limit is 50")]
    assert ctx.diagnostics[0].span.line == 7 + 50  # the 51st attachment (the first is on line 7)
    assert not ctx.nodes and ctx.plan is None  # no pass ran
    for command in ("check", "lint", "explain"):
        result = run_cli(command, str(path))
        assert result.code == 1 and "the pipeline has 62 attachments; the limit is 50" in result.output
        assert "Traceback" not in result.output and "MemoryError" not in result.output
    path.write_text(_attachments(40), encoding="utf-8")  # under the limit: compiles
    under = compile_path(path)
    assert "HP001" not in {d.code for d in under.diagnostics} and len(under.nodes) == 42  # the passes ran


def test_limit_leaves_room_for_the_benchmarked_50k_attachments() -> None:
    assert pipeline.MAX_ATTACHMENTS >= 2 * 50_000


def test_a_shared_include_is_parsed_once_per_lint_run(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "inc.pipe").write_text("".join(f"hook c{i} = grad_clip(max_norm = 1.0)\n" for i in range(50)))
    for r in range(8):
        (tmp_path / f"root{r}.pipe").write_text(
            'include "inc.pipe"\ntrainer {\n    max_step = 10\n}\nhook o = optimizer()\n'
            + "loop { epoch { step { after {\n" + "".join(f"    c{i}\n" for i in range(50)) + "    o\n} } } }\n")
    parsed: list[str] = []
    real = runner.parse_text

    def counting(text: str, path: str):  # type: ignore[no-untyped-def]
        parsed.append(os.path.basename(path))
        return real(text, path)

    monkeypatch.setattr(runner, "parse_text", counting)
    result = runner.lint_paths([str(tmp_path)], jobs=1)
    assert len(result.files) == 8 and not result.diagnostics
    assert parsed.count("inc.pipe") == 1 and sorted(set(parsed) - {"inc.pipe"}) == [f"root{r}.pipe" for r in range(8)]
    assert runner._PARSES is None  # nothing kept after the run


@pytest.fixture
def nested(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``tmp_path``, emptied of its 1,100 nested folders afterwards one level at a time (rmtree recurses)."""
    yield tmp_path
    name = str(tmp_path) + "/d" * 1100
    if os.path.isdir(name):
        for file in os.listdir(name):
            os.unlink(os.path.join(name, file))
        while name != str(tmp_path):
            os.rmdir(name)
            name = os.path.dirname(name)


def test_1100_nested_folders_do_not_stop_lint_check_or_fmt(nested: Path) -> None:
    tmp_path = nested
    (tmp_path / "pyproject.toml").write_text("")
    deep_name = str(tmp_path)
    for _ in range(1100):  # one level at a time: Path.mkdir(parents=True) itself recurses
        deep_name += "/d"
        os.mkdir(deep_name)
    deep = Path(deep_name)
    (deep / "deep.pipe").write_text("trainer {\n    max_step = 2\n}\nhook o = optimizer()\n"
                                    "loop { epoch { step { after { o } } } }\n")
    (tmp_path / "top.pipe").write_text((deep / "deep.pipe").read_text())
    for command in ("lint", "check", "fmt"):
        result = run_cli(command, *(["--check"] if command == "fmt" else []), str(tmp_path))
        assert result.code == (1 if command == "fmt" else 0), (command, result.output[-500:])  # fmt: would reformat
        assert "RecursionError" not in result.output and "Traceback" not in result.output
    assert "hookpipe lint: 2 files checked" in run_cli("lint", str(tmp_path)).out
    assert "hookpipe fmt: 2 files, 2 would reformat" in run_cli("fmt", "--check", str(tmp_path)).err
    from hookpipe.commands.run_input import _pipes_under
    assert len(_pipes_under(tmp_path)) == 2


@pytest.mark.parametrize("name", [".hidden", "__pycache__", "node_modules"])
def test_walk_skips_hidden_and_tool_folders_and_symlinked_folders(tmp_path: Path, name: str) -> None:
    from hookpipe.lint.discover import walk_pipe_files

    (tmp_path / name).mkdir()
    (tmp_path / name / "x.pipe").write_text("")
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "y.pipe").write_text("")
    (tmp_path / "loop").symlink_to(tmp_path)  # a symlinked folder (here a loop) is not entered
    assert sorted(walk_pipe_files(tmp_path)) == [(tmp_path / "real" / "y.pipe").as_posix()]
