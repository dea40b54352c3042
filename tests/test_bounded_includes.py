"""Bounded work through includes (review round 3, item 11): lint and check of an include graph.

A folder where file i includes every later file used to be compiled once per
file, each compilation reading every file below it (160 files: 49 s; 300 did not
finish in five minutes). These tests count the work instead of timing it: how many
compilations, parses and path resolutions a run does (the times are in
``python -m benchmarks.hostile_includes``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import hookpipe.compiler.loader as loader
import hookpipe.compiler.pipeline as pipeline
import hookpipe.lint.runner as runner
from hookpipe.compiler import compile_path
from hookpipe.compiler.context import Compilation
from hookpipe.dsl import ast
from hookpipe.dsl.parser import ParseResult, parse_text
from hookpipe.lint.fragments import included_paths, split
from tests.helpers import ROOT, run_cli

#: Base names of the files compiled (as main files) and parsed, in order.
Counts = dict[str, list[str]]
BODY = "hook optimize = optimizer()\nloop { epoch { step { after { optimize } } } }\n"


def dag(folder: Path, n: int) -> list[str]:
    """File i includes every later file; the first holds the trainer, the last the hooks."""
    (folder / "pyproject.toml").write_text("")
    names = []
    for i in range(n):
        text = "".join(f'include "f{j:03d}.pipe"\n' for j in range(i + 1, n))
        text += (BODY if i == n - 1 else "") + ("trainer {\n    max_step = 10\n}\n" if i == 0 else "")
        (folder / f"f{i:03d}.pipe").write_text(text)
        names.append((folder / f"f{i:03d}.pipe").as_posix())
    return names


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counts:
    """The files compiled (as main files) and parsed during a test, by base name."""
    seen: Counts = {"compiled": [], "parsed": []}
    real_compile, real_parse = pipeline.compile_path, runner.parse_text

    def compiling(path: str, *args: Any, **kwargs: Any) -> Compilation:
        seen["compiled"].append(os.path.basename(path))
        return real_compile(path, *args, **kwargs)

    def parsing(text: str, path: str) -> ParseResult:
        seen["parsed"].append(os.path.basename(path))
        return real_parse(text, path)

    monkeypatch.setattr(pipeline, "compile_path", compiling)
    monkeypatch.setattr(runner, "compile_path", compiling)
    monkeypatch.setattr(runner, "parse_text", parsing)
    return seen


@pytest.mark.parametrize("command", ["lint", "check"])
def test_an_include_dag_is_compiled_once_through_its_root(tmp_path: Path, counted: Counts, command: str) -> None:
    n = 30
    dag(tmp_path, n)
    result = run_cli(command, str(tmp_path))
    assert result.code == 0, result.output[-2000:]
    assert counted["compiled"] == ["f000.pipe"]  # was one compilation per file, each of every file below it
    assert sorted(counted["parsed"]) == [f"f{i:03d}.pipe" for i in range(n)]  # each file parsed once
    if command == "lint":
        assert "hookpipe lint: 1 file checked, no findings" in result.out
    else:
        assert result.out.startswith(f"{tmp_path.as_posix()}/f000.pipe: ok (plan ") and result.out.count("\n") == 1


def test_one_load_resolves_each_include_path_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 30
    dag(tmp_path, n)
    resolved: list[Path] = []
    real = loader.DiskFiles.resolve

    def counting(self, path: Path) -> Path:  # type: ignore[no-untyped-def]
        resolved.append(path)
        return real(self, path)

    monkeypatch.setattr(loader.DiskFiles, "resolve", counting)
    ctx = compile_path(tmp_path / "f000.pipe")
    assert ctx.plan is not None and len(ctx.files) == n
    assert len(resolved) == n  # the main file and each included path: not one per include line (435)


def test_a_pipeline_with_all_its_includes_has_a_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_PIPELINE_CHARS", 1000)
    (tmp_path / "pyproject.toml").write_text("")
    hooks = "".join(f"hook c{i} = grad_clip(max_norm = 1.0)\n" for i in range(15))  # 555 characters
    (tmp_path / "a.pipe").write_text(hooks)
    (tmp_path / "b.pipe").write_text(hooks.replace("hook c", "hook d"))
    (tmp_path / "main.pipe").write_text('include "a.pipe"\ninclude "b.pipe"\ntrainer {\n    max_step = 10\n}\n'
                                        + BODY)
    ctx = compile_path(tmp_path / "main.pipe")
    (error,) = [d for d in ctx.diagnostics if d.severity == "error"]
    assert (error.code, Path(error.span.file).name, error.span.line) == ("HP010", "main.pipe", 2)
    assert error.message.startswith("including `b.pipe` makes the pipeline 0.0 MiB of text with its includes; "
                                    "the limit is 0 MiB")
    assert [Path(f.path).name for f, _ in ctx.files] == ["a.pipe", "main.pipe"]  # b.pipe was not parsed


def test_roots_sharing_more_includes_than_the_old_cache_held_parse_each_once(tmp_path: Path,
                                                                            counted: Counts) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    shared = [f"s{i:02d}.pipe" for i in range(70)]  # the cache held 64 files: three roots parsed each three times
    for i, name in enumerate(shared):
        (tmp_path / name).write_text(f"hook c{i} = grad_clip(max_norm = 1.0)\n")
    includes = "".join(f'include "{name}"\n' for name in shared)
    for r in range(3):
        (tmp_path / f"root{r}.pipe").write_text(includes + f"trainer {{\n    max_step = {10 + r}\n}}\n" + BODY)
    result = run_cli("lint", "--jobs", "1", str(tmp_path))
    assert "hookpipe lint: 3 files checked" in result.out
    assert sorted(counted["compiled"]) == ["root0.pipe", "root1.pipe", "root2.pipe"]
    assert sorted(counted["parsed"]) == sorted(shared + ["root0.pipe", "root1.pipe", "root2.pipe"])


def test_a_file_only_a_broken_file_includes_is_still_linted(tmp_path: Path) -> None:
    """The include scan sees an include the loader does not follow; the file is linted on its own after all."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "broken.pipe").write_text('include "real.pipe"\nhook = \n')
    (tmp_path / "real.pipe").write_text('trainer {\n    max_step = 10\n}\nhook save = checkpoint(dir = "x")\n' + BODY)
    assert split([str(tmp_path / "broken.pipe"), str(tmp_path / "real.pipe")]).fragments == [
        str(tmp_path / "real.pipe")]
    result = run_cli("lint", str(tmp_path))
    assert "hookpipe lint: 2 files checked" in result.out
    assert "real.pipe:4:6: HP103 warning" in result.out.replace(str(tmp_path) + "/", "")  # real.pipe's finding


def test_the_include_scan_finds_what_the_parser_finds() -> None:
    pipes = sorted([*ROOT.glob("examples/**/*.pipe"), *ROOT.glob("tests/fixtures/**/*.pipe")])
    compared = 0
    for path in pipes:
        text = path.read_text(encoding="utf-8")
        parsed = parse_text(text, str(path)).file
        if parsed is None:
            continue
        assert included_paths(text) == [i.path for i in parsed.items if isinstance(i, ast.Include)], path
        compared += "include" in text
    assert compared >= 5
    tricky = 'include"a.pipe"\n  include  "b\\\\c.pipe" # note\n# include "no.pipe"\nuse x = "include \\"no\\""\n'
    parsed = parse_text(tricky, "t.pipe").file
    assert parsed is not None and [i.path for i in parsed.items if isinstance(i, ast.Include)] == [
        "a.pipe", "b\\c.pipe"] == included_paths(tricky)
