"""Output targets (issue 23): ``-o`` writes only to a regular file or a new name; ``init`` replaces nothing.

A rename replaces whatever has the name: a FIFO, a symlink (to ``/proc/self/fd/1``)
or a device node would become a regular file. Each is refused with a usage error
(exit 2) and left as it was.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hookpipe.fileio import TargetRefused, write_atomic, write_new
from tests.helpers import run_cli

CLEAN = "trainer {\n    max_step = 2\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n"


@pytest.fixture
def pipe(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "a.pipe"
    path.write_text(CLEAN, encoding="utf-8")
    return path


def _targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each hostile output name (with a ``.dot`` suffix, so render accepts the name's format)."""
    fifo = tmp_path / "fifo.dot"
    os.mkfifo(fifo)
    link = tmp_path / "stdout.dot"
    link.symlink_to("/proc/self/fd/1")
    to_file = tmp_path / "to_file.dot"
    (tmp_path / "real.txt").write_text("keep")
    to_file.symlink_to(tmp_path / "real.txt")
    dangling = tmp_path / "dangling.dot"
    dangling.symlink_to(tmp_path / "nowhere")
    return {
        "fifo": (fifo, "it is a FIFO (named pipe), not a regular file"),
        "symlink to stdout": (link, "it is a symlink"),
        "symlink to a file": (to_file, "it is a symlink"),
        "dangling symlink": (dangling, "it is a symlink"),
        "device": (Path("/dev/null"), "it is a character device, not a regular file"),
    }


CASES = [(command, kind) for command in ("lint", "render")
         for kind in ("fifo", "symlink to stdout", "symlink to a file", "dangling symlink", "device")
         if (command, kind) != ("render", "device")]  # render takes its format from a suffix /dev/null lacks


@pytest.mark.parametrize("command, kind", CASES)
def test_o_refuses_anything_but_a_regular_file_or_a_new_name(pipe: Path, tmp_path: Path, kind: str,
                                                            command: str) -> None:
    target, message = _targets(tmp_path)[kind]
    before = os.lstat(target)
    args = ["lint", "-o", str(target), str(pipe)] if command == "lint" else ["render", str(pipe), "-o", str(target)]
    result = run_cli(*args)
    assert result.code == 2, result.output
    assert message in result.err and "Traceback" not in result.output
    after = os.lstat(target)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    assert (tmp_path / "real.txt").read_text() == "keep" and not (tmp_path / "nowhere").exists()


def test_o_dash_is_standard_output_and_a_regular_file_is_replaced(pipe: Path, tmp_path: Path) -> None:
    result = run_cli("lint", "-o", "-", str(pipe))
    assert result.code == 0 and "hookpipe lint: 1 file checked" in result.out
    assert not (Path.cwd() / "-").exists()
    report = tmp_path / "report.txt"
    report.write_text("old")
    assert run_cli("lint", "-o", str(report), str(pipe)).code == 0
    assert "1 file checked" in report.read_text()


def test_write_atomic_refuses_a_symlink_swapped_in_after_the_first_check(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.txt"
    import hookpipe.fileio as fileio

    real_check = fileio._check_kind
    calls = []

    def swap_then_check(path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:  # the check right before the rename
            path.symlink_to("/proc/self/fd/1")
        real_check(path)

    monkeypatch.setattr(fileio, "_check_kind", swap_then_check)
    with pytest.raises(TargetRefused, match="it is a symlink"):
        write_atomic(target, "data")
    assert target.is_symlink() and os.readlink(target) == "/proc/self/fd/1"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_write_new_never_replaces_a_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "x"
    link.symlink_to(tmp_path / "created-through-the-link")
    with pytest.raises(TargetRefused, match="already exists"):
        write_new(link, "data")
    assert link.is_symlink() and not (tmp_path / "created-through-the-link").exists()


def test_init_never_replaces_a_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").symlink_to(tmp_path / "elsewhere.toml")
    result = run_cli("init", str(tmp_path))
    assert result.code == 2
    assert "pyproject.toml already exists; nothing was written" in result.err
    assert (tmp_path / "pyproject.toml").is_symlink() and not (tmp_path / "elsewhere.toml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


@pytest.mark.parametrize("below", ["afile/sub", "afile/sub/deeper", "afile"])
def test_init_below_a_file_is_a_usage_error(tmp_path: Path, below: str) -> None:
    (tmp_path / "afile").write_text("x")
    result = run_cli("init", str(tmp_path / below))
    assert result.code == 2, result.output
    assert f"{tmp_path / 'afile'}: not a folder" in result.err and "Traceback" not in result.output
    assert (tmp_path / "afile").read_text() == "x"


def test_init_into_a_new_folder_still_works(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "new"))
    assert result.code == 0, result.output
    assert {p.name for p in (tmp_path / "new").iterdir()} >= {"pyproject.toml", "train.pipe"}
