"""include: relative paths, merging, precedence, cycles, missing files, the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.compiler import compile_file, compile_path
from hookpipe.errors import CompileError

BASE = """trainer {
    max_epoch = 10
    grad_accumulation = 2
}
hook clip = grad_clip(max_norm = 1.0)
hook optimize = optimizer()
loop { epoch { step { after {
    clip -> optimize
} } } }
"""


def write(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def codes(path: Path) -> list[tuple[str, str, int]]:
    ctx = compile_path(path)
    return [(d.code, Path(d.span.file).name, d.span.line) for d in ctx.diagnostics]


def test_include_merges_blocks_and_includer_wins(tmp_path: Path) -> None:
    write(tmp_path, {
        "parts/base.pipe": BASE,
        "main.pipe": 'include "parts/base.pipe"\ntrainer {\n    max_epoch = 3\n}\n'
                     'hook losses = loss_log()\nloop { epoch { step { after {\n    losses\n} } } }\n'
                     "order optimize before losses\n",
    })
    plan = compile_file(tmp_path / "main.pipe")
    assert plan.trainer["max_epoch"] == 3 and plan.trainer["grad_accumulation"] == 2
    assert [e.hook for e in plan.phase("step", "after").entries] == ["clip", "optimize", "losses"]
    spans = {e.hook: Path(e.span.file).as_posix() for e in plan.phase("step", "after").entries}
    assert spans["clip"].endswith("parts/base.pipe") and spans["losses"].endswith("main.pipe")


def test_no_written_order_between_merged_blocks(tmp_path: Path) -> None:
    """Blocks from different files only get edges from statements and effects."""
    write(tmp_path, {
        "base.pipe": BASE,
        "main.pipe": 'include "base.pipe"\nhook losses = loss_log()\n'
                     "loop { epoch { step { after {\n    losses\n} } } }\norder losses before clip\n",
    })
    plan = compile_file(tmp_path / "main.pipe")
    assert [e.hook for e in plan.phase("step", "after").entries] == ["losses", "clip", "optimize"]


def test_include_cycle(tmp_path: Path) -> None:
    write(tmp_path, {"a.pipe": 'include "b.pipe"\n' + BASE, "b.pipe": 'include "a.pipe"\n'})
    ctx = compile_path(tmp_path / "a.pipe")
    (d,) = ctx.diagnostics
    assert d.code == "HP010" and "include cycle: a.pipe -> b.pipe -> a.pipe" in d.message
    assert Path(d.span.file).name == "b.pipe" and d.span.line == 1


def test_diamond_include_reads_each_file_once(tmp_path: Path) -> None:
    write(tmp_path, {
        "common.pipe": "hook losses = loss_log()\n",
        "a.pipe": 'include "common.pipe"\n',
        "b.pipe": 'include "common.pipe"\n',
        "main.pipe": 'include "a.pipe"\ninclude "b.pipe"\n' + BASE,
    })
    assert [h.name for h in compile_file(tmp_path / "main.pipe").hooks] == ["losses", "clip", "optimize"]


def test_missing_include(tmp_path: Path) -> None:
    write(tmp_path, {"main.pipe": BASE + 'include "nope.pipe"\n'})
    assert codes(tmp_path / "main.pipe") == [("HP010", "main.pipe", 10)]


def test_include_escaping_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.pipe"
    outside.write_text("hook losses = loss_log()\n")
    project = tmp_path / "project"
    project.mkdir()
    write(project, {"main.pipe": 'include "../outside.pipe"\n' + BASE})
    assert codes(project / "main.pipe") == [("HP010", "main.pipe", 1)]
    plan = compile_file(project / "main.pipe", allow_outside_root=True)
    assert "losses" in [h.name for h in plan.hooks]


def test_include_through_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "x.pipe").write_text("hook losses = loss_log()\n")
    project = tmp_path / "project"
    project.mkdir()
    write(project, {"main.pipe": 'include "link/x.pipe"\n' + BASE})
    (project / "link").symlink_to(secret, target_is_directory=True)
    assert codes(project / "main.pipe") == [("HP010", "main.pipe", 1)]


def test_errors_in_included_files_name_that_file(tmp_path: Path) -> None:
    write(tmp_path, {"base.pipe": "hook clip = grad_clip(max_norm = )\n", "main.pipe": 'include "base.pipe"\n' + BASE})
    with pytest.raises(CompileError) as info:
        compile_file(tmp_path / "main.pipe")
    assert [(d.code, Path(d.span.file).name, d.span.line) for d in info.value.diagnostics] == [("HP001", "base.pipe", 1)]
    assert "base.pipe:1:34" in str(info.value)


def test_compile_text_refuses_includes() -> None:
    from hookpipe.compiler import compile_text

    with pytest.raises(CompileError) as info:
        compile_text('include "x.pipe"\n' + BASE, "mem.pipe")
    assert [d.code for d in info.value.diagnostics] == ["HP010"]


def test_a_missing_include_does_not_cascade_into_unknown_names(tmp_path: Path) -> None:
    write(tmp_path, {"main.pipe": 'include "parts/hooks.pipe"\nloop { epoch { step { after {\n    clip -> optimize\n} } } }\n'})
    assert codes(tmp_path / "main.pipe") == [("HP010", "main.pipe", 1)]


def test_an_include_with_syntax_errors_does_not_cascade(tmp_path: Path) -> None:
    write(tmp_path, {"base.pipe": BASE.replace("hook optimize = optimizer()", "hook optimize = optimizer("),
                     "main.pipe": 'include "base.pipe"\nloop { epoch { step { after {\n    optimize\n} } } }\n'})
    assert codes(tmp_path / "main.pipe") == [("HP001", "base.pipe", 7)]
