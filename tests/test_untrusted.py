"""The attacks an untrusted pull request can make on check, lint, explain, render and fmt.

Each test commits what an attacker would (a symlink, a FIFO, a huge file, an odd
file name, an odd number) and runs the real command line in-process, asserting
the exact message and that nothing leaks, hangs or prints a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from hookpipe.compiler import compile_path
from hookpipe.diagnostics import EXCERPT_CHARS
from tests.helpers import run_cli

BASE = "trainer {\n    max_step = 2\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n"
SECRET = "hookpipe-test-secret-6f1c2a"


def cli(argv: list[str]) -> tuple[int, str]:
    """Exit status and everything printed (stdout then stderr)."""
    result = run_cli(*argv)
    return result.code, result.output


@contextmanager
def deadline(seconds: int = 20) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block blocks."""
    def expired(signum: int, frame: object) -> None:
        raise AssertionError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    (root / "ok.pipe").write_text(BASE)
    return root


# --- secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("lint",), ("check",), ("explain",), ("fmt", "--diff"), ("fmt", "--check"),
                                     ("render", "-o", "OUT")])
def test_a_symlink_to_the_environment_leaks_nothing(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                     command: tuple[str, ...]) -> None:
    monkeypatch.setenv("HOOKPIPE_TEST_TOKEN", SECRET)
    (project / "env.pipe").symlink_to("/proc/self/environ")
    target = str(project) if command == ("lint",) else str(project / "env.pipe")
    argv = [c if c != "OUT" else str(project / "out.dot") for c in command]
    code, text = cli([*argv, target])
    assert SECRET not in text and "HOOKPIPE_TEST_TOKEN" not in text, text
    assert code == 1 and "Traceback" not in text, text
    assert "resolves outside the project root `project`" in text, text


def test_a_symlinked_include_of_the_environment_leaks_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPIPE_TEST_TOKEN", SECRET)
    (project / "env.pipe").symlink_to("/proc/self/environ")
    (project / "main.pipe").write_text('include "env.pipe"\n' + BASE)
    code, text = cli(["check", str(project / "main.pipe")])
    assert code == 1 and SECRET not in text
    assert "HP010 error: include `env.pipe` leaves the project root" in text


def test_allow_outside_root_keeps_the_other_limits(project: Path) -> None:
    os.mkfifo(project.parent / "fifo.pipe")
    (project / "main.pipe").write_text('include "../fifo.pipe"\n' + BASE)
    with deadline():
        code, text = cli(["check", "--allow-outside-root", str(project / "main.pipe")])
    assert code == 1 and "included file `../fifo.pipe` is a FIFO (named pipe), not a regular file" in text, text


# --- hangs -----------------------------------------------------------------------------


def test_an_include_of_a_fifo_does_not_block(project: Path) -> None:
    os.mkfifo(project / "fifo.pipe")
    (project / "main.pipe").write_text('include "fifo.pipe"\n' + BASE)
    with deadline():
        code, text = cli(["check", str(project / "main.pipe")])
    assert code == 1 and "HP010 error: included file `fifo.pipe` is a FIFO (named pipe), not a regular file" in text


def test_a_fifo_in_a_linted_folder_is_a_finding_and_the_rest_is_linted(project: Path) -> None:
    os.mkfifo(project / "x.pipe")
    (project / "bad.pipe").write_text(BASE + "hook l = loss_log(windw = 1)\n")
    with deadline():
        code, text = cli(["lint", str(project)])
    assert code == 1, text
    assert "x.pipe:1:1: HP010 error: the file is a FIFO (named pipe), not a regular file" in text
    assert "unknown argument `windw`" in text
    with deadline():
        code, text = cli(["fmt", str(project)])
    assert code == 1 and "x.pipe: not formatted: the file is a FIFO" in text, text


def test_a_device_and_a_folder_are_refused(project: Path) -> None:
    (project / "dev.pipe").symlink_to("/dev/zero")
    (project / "main.pipe").write_text('include "dev.pipe"\ninclude "sub"\n' + BASE)
    (project / "sub").mkdir()
    with deadline():
        code, text = cli(["check", "--allow-outside-root", str(project / "main.pipe")])
    assert code == 1, text
    assert "included file `dev.pipe` is a character device, not a regular file" in text
    assert "included file `sub` is a folder, not a regular file" in text


# --- memory and time -------------------------------------------------------------------


def test_a_sparse_gigabyte_include_is_refused_unread(project: Path) -> None:
    big = project / "big.pipe"
    with open(big, "wb") as f:
        f.truncate(1 << 30)
    (project / "main.pipe").write_text('include "big.pipe"\n' + BASE)
    code, text = cli(["check", str(project / "main.pipe")])
    assert code == 1 and "included file `big.pipe` is too large (over 4 MiB, the limit)" in text
    assert len(text) < 2000


def test_a_long_line_is_quoted_as_a_bounded_excerpt(project: Path) -> None:
    p = project / "long.pipe"
    p.write_text(BASE + "hook h = loss_log(window = 1, " + "".join(f"x{i} = 1, " for i in range(5000))
                 + f"token = \"{SECRET}\")\n")
    code, text = cli(["check", str(p)])
    assert code == 1 and "unknown argument" in text
    quoted = [line for line in text.splitlines() if " | " in line]
    assert quoted and max(len(line) for line in quoted) <= EXCERPT_CHARS + 16, text


def test_printing_many_diagnostics_splits_the_source_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = project / "many.pipe"
    p.write_text(BASE + "".join(f"hook h{i} = loss_log(windw = 1)\n" for i in range(300)))
    calls = 0
    real = str.split

    class Counting(str):
        def split(self, sep: str | None = None, maxsplit: int = -1) -> list[str]:  # type: ignore[override]
            nonlocal calls
            calls += 1
            return real(self, sep, maxsplit)

    ctx = compile_path(p)
    ctx.sources.texts[str(p)] = Counting(ctx.sources.texts[str(p)])
    import io

    from hookpipe.commands.common import print_diagnostics

    print_diagnostics(ctx.diagnostics, ctx.sources, io.StringIO())
    assert len(ctx.diagnostics) == 300 and calls == 1


# --- tracebacks ------------------------------------------------------------------------


def test_a_self_referencing_symlink_is_a_finding_and_lint_goes_on(project: Path) -> None:
    (project / "loop.pipe").symlink_to("loop.pipe")
    (project / "main.pipe").write_text('include "loop.pipe"\n' + BASE)
    (project / "bad.pipe").write_text(BASE + "hook l = loss_log(windw = 1)\n")
    code, text = cli(["check", str(project / "main.pipe")])
    assert code == 1 and "HP010 error: included file `loop.pipe` is a symlink loop" in text, text
    code, text = cli(["lint", str(project)])
    assert code == 1 and "Traceback" not in text, text
    assert "loop.pipe:1:1: HP010 error: the file is a symlink loop" in text
    assert "unknown argument `windw`" in text


def test_a_nul_byte_in_an_include_path(project: Path) -> None:
    (project / "main.pipe").write_bytes(b'include "a\x00b.pipe"\n' + BASE.encode())
    code, text = cli(["check", str(project / "main.pipe")])
    assert code == 1 and "HP010 error: included file `a\\x00b.pipe` has a NUL byte in its name" in text, text


@pytest.mark.parametrize("literal", ["9" * 5000, "1" + "0" * 19, "-9" * 1, "1e999"])
def test_numbers_out_of_range_are_syntax_errors(project: Path, literal: str) -> None:
    p = project / "num.pipe"
    p.write_text(f"trainer {{\n    max_step = {literal}\n}}\n")
    code, text = cli(["check", str(p)])
    if literal == "-9":  # in range: an ordinary argument error
        assert "HP001" not in text
        return
    shown = literal if len(literal) <= 24 else f"{literal[:20]}... ({len(literal):,} characters)"
    assert code == 1 and f"num.pipe:2:16: HP001 error: the number `{shown}` is out of range" in text, text


def test_command_line_numbers_are_range_checked(project: Path) -> None:
    for argv, message in [
        (["explain", str(project / "ok.pipe"), "--steps", "9" * 5000], "--steps: must be between 1 and 1,000,000"),
        (["explain", str(project / "ok.pipe"), "--steps", "0"], "--steps: must be between 1 and 1,000,000"),
        (["explain", str(project / "ok.pipe"), "--steps", "4", "--steps-per-epoch", "-1"], "must be between 1"),
        (["lint", "--jobs", "100000", str(project)], "--jobs: must be between 1 and 256"),
    ]:
        code, text = cli(argv)
        assert code == 2 and message in text, (argv, text)


@pytest.mark.parametrize("command", [("render", "-o", "{out}"), ("lint", "-o", "{out}")])
@pytest.mark.parametrize("case", ["missing folder", "onto a folder", "read-only", "full disk"])
def test_outputs_fail_clearly_and_leave_no_partial_file(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                        command: tuple[str, ...], case: str) -> None:
    out = {"missing folder": project / "nope" / "g.dot", "onto a folder": project / "folder.dot"}.get(
        case, project / "g.dot")
    (project / "folder.dot").mkdir()
    expected = {"missing folder": "the folder", "onto a folder": "it is a folder (name a file)",
                "read-only": "permission denied", "full disk": "the disk is full"}[case]
    if case in ("read-only", "full disk"):  # the tests may run as root, who may write anywhere: simulate
        err = errno.EACCES if case == "read-only" else errno.ENOSPC
        real_replace = os.replace

        def failing(src: str, dst: str) -> None:
            if str(dst) == str(out):
                raise OSError(err, os.strerror(err))
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", failing)
    argv = [c.format(out=out) for c in command]
    code, text = cli([*argv, str(project / "ok.pipe")])
    assert code in (1, 2) and "Traceback" not in text and f"cannot write {out}: {expected}" in text, text
    assert not out.is_file()
    assert [p.name for p in project.iterdir() if p.name.endswith(".tmp")] == []


def test_fmt_reports_a_write_it_cannot_make(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = project / "ugly.pipe"
    p.write_text("hook  a=optimizer( )\n")

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    code, text = cli(["fmt", str(p)])
    assert code == 1 and "not formatted: cannot write" in text and "the disk is full" in text, text
    assert p.read_text() == "hook  a=optimizer( )\n"


# --- odd file names ---------------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_with_sarif_and_json(project: Path) -> None:
    name = os.fsencode(project) + b"/bad\xff.pipe"
    with open(name, "wb") as f:
        f.write((BASE + "hook l = loss_log(windw = 1)\n").encode())
    for fmt in ("sarif", "json", "github", "text"):
        code, text = cli(["lint", "--format", fmt, str(project)])
        assert code == 1 and "Traceback" not in text, text
        if fmt == "json":
            assert f"{project}/bad\\xff.pipe" in json.loads(text)["files"]
        elif fmt == "sarif":
            assert "bad%5Cxff.pipe" in json.dumps(json.loads(text))
        else:
            assert f"{project}/bad\\xff.pipe:6:19: HP003 error" in text


@pytest.mark.parametrize("name", ["x\n::error file=forged.pipe,line=1::forged", "::error title=forged::y"])
def test_file_names_cannot_forge_github_commands(project: Path, name: str) -> None:
    (project / f"{name}.pipe").write_text(BASE + "hook l = loss_log(windw = 1)\n")
    code, text = cli(["lint", "--format", "github", str(project)])
    assert code == 1
    head, stop, rest = text.partition("::stop-commands::")
    token, _, report = rest.partition("\n")
    annotations = head.splitlines()
    assert len(annotations) == 1 and annotations[0].startswith("::error file=") and "forged" not in annotations[0][:40]
    assert "::error" not in annotations[0].split("::", 2)[2]
    assert report.endswith(f"::{token}::\n") and "::" + token not in report[:-len(token) - 5]
    # outside the fence, no line a runner reads as a command
    assert all(not line.startswith("::") for line in report.splitlines()[:-1])


# --- fmt -------------------------------------------------------------------------------


def test_fmt_does_not_join_code_onto_a_suppression(project: Path) -> None:
    text = "hook a = loss_log(  # first\n    window = 1)  # hookpipe: ignore[HP101]\n"
    p = project / "s.pipe"
    p.write_text(text)
    code, out = cli(["fmt", str(p)])
    assert code == 1 and "s.pipe: not formatted: it would move code onto or off a line with a " in out, out
    assert p.read_text() == text


def test_fmt_writes_only_what_lint_checks(project: Path) -> None:
    ugly = "hook  a=optimizer( )\n"
    for folder in (".venv/lib", "node_modules/pkg", "sub"):
        (project / folder).mkdir(parents=True)
        (project / folder / "x.pipe").write_text(ugly)
    code, out = cli(["fmt", str(project)])
    assert (project / "sub" / "x.pipe").read_text() == "hook a = optimizer()\n"
    assert (project / ".venv/lib/x.pipe").read_text() == ugly
    assert (project / "node_modules/pkg/x.pipe").read_text() == ugly


def test_fmt_leaves_symlinks_and_read_only_files_alone(project: Path) -> None:
    ugly = "hook  a=optimizer( )\n"
    (project / "real.pipe").write_text(ugly)
    (project / "link.pipe").symlink_to("real.pipe")
    (project / "ro.pipe").write_text(ugly)
    os.chmod(project / "ro.pipe", stat.S_IRUSR | stat.S_IRGRP)
    code, out = cli(["fmt", str(project / "link.pipe"), str(project / "ro.pipe")])
    assert code == 1
    assert "link.pipe: left alone: it is a symlink (format the file it points to)" in out
    assert "ro.pipe: left alone: it is read-only" in out
    assert (project / "link.pipe").is_symlink() and (project / "real.pipe").read_text() == ugly
    assert (project / "ro.pipe").read_text() == ugly
