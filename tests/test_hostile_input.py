"""Pathological input ends in a clear diagnostic, never a traceback or a hang."""

from __future__ import annotations

from pathlib import Path

from hookpipe.compiler import compile_path
from hookpipe.compiler.loader import MAX_INCLUDE_DEPTH
from hookpipe.dsl.layout import MAX_DEPTH
from hookpipe.dsl.parser import MAX_LINE_CHARS, MAX_SOURCE_CHARS

HEAD = "trainer {\n    max_step = 1\n}\n"


def codes(path: Path) -> list[tuple[str, int, str]]:
    return [(d.code, d.span.line, d.message) for d in compile_path(path).diagnostics]


def test_deeply_nested_brackets(tmp_path: Path) -> None:
    p = tmp_path / "deep.pipe"
    p.write_text(HEAD + "hook a = t(x = " + "[" * 10_000 + "]" * 10_000 + ")\n")
    assert codes(p) == [("HP001", 4, f"brackets nested more than {MAX_DEPTH} levels deep")]


def test_deeply_nested_blocks(tmp_path: Path) -> None:
    p = tmp_path / "deep.pipe"
    p.write_text("loop " + "{ " * 10_000 + "}" * 10_000 + "\n")
    (diagnostic,) = compile_path(p).diagnostics
    assert diagnostic.code == "HP001" and diagnostic.span.line == 1


def test_huge_file_is_refused_up_front(tmp_path: Path) -> None:
    p = tmp_path / "huge.pipe"
    line = "hook h = loss_log(window = 1)\n"
    p.write_text(HEAD + line * (MAX_SOURCE_CHARS // len(line) + 1))
    ((code, line_no, message),) = codes(p)
    assert (code, line_no) == ("HP001", 1) and "too large" in message


def test_huge_line_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "line.pipe"
    p.write_text(HEAD + 'use m = "' + "a" * (MAX_LINE_CHARS + 10) + '"\n')
    ((code, line_no, message),) = codes(p)
    assert (code, line_no) == ("HP001", 4) and "characters long" in message


def test_many_order_statements(tmp_path: Path) -> None:
    p = tmp_path / "orders.pipe"
    p.write_text(HEAD + "hook a = loss_log()\nhook b = throughput()\nloop { epoch { step { after {\n a\n b\n} } } }\n"
                 + "order a before b\n" * 20_000)
    ctx = compile_path(p)
    assert ctx.diagnostics == [] and ctx.plan is not None
    assert [e.hook for e in ctx.plan.phase("step", "after").entries] == ["a", "b"]


def test_include_chain_too_deep(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    depth = MAX_INCLUDE_DEPTH + 5
    for i in range(depth):
        body = f'include "f{i + 1}.pipe"\n' if i < depth - 1 else HEAD
        (tmp_path / f"f{i}.pipe").write_text(body + f"hook h{i} = loss_log()\n")
    found = [(d.code, Path(d.span.file).name) for d in compile_path(tmp_path / "f0.pipe").diagnostics]
    assert ("HP010", f"f{MAX_INCLUDE_DEPTH}.pipe") in found
