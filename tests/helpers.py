"""Shared test helpers: paths, the CLI runners, two-process launches, fixture pairs, examples, renderers.

Fixture pairs are ``tests/fixtures/<area>/<name>.pipe`` with ``<name>.expected``
beside it: one line per diagnostic, ``LINE:COL CODE severity: message``, then
indented ``note:``/``help:`` lines. Set ``HOOKPIPE_UPDATE_GOLDEN=1`` to rewrite
golden files from the current output (then review the diff).

Lint fixtures (``tests/fixtures/lint``) state their expectations in leading
``# expect:`` comments, ``CODE severity line:column`` or ``# expect: clean``;
failing fixtures are named ``HPxxx_fail.pipe`` and their passing twins
``HPxxx_pass.pipe``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple

from hookpipe.cli import main as cli_main
from hookpipe.compiler import compile_path
from hookpipe.diagnostics import Diagnostic, sort_diagnostics
from hookpipe.render.engine import PURE, which

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPDATE = os.environ.get("HOOKPIPE_UPDATE_GOLDEN") == "1"


class CliResult(NamedTuple):
    """What one ``hookpipe`` command did: its exit status and what it printed."""

    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        """stdout then stderr, for assertions that do not care which stream."""
        return self.out + self.err


def run_cli(*args: str) -> CliResult:
    """Run ``hookpipe ARGS`` in this process; any exception escaping it fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(list(args))
        except SystemExit as exc:  # argparse usage errors only
            code = int(exc.code or 0)
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli_process(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
                    timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hookpipe.cli ARGS`` as its own process (what a user's shell runs)."""
    return subprocess.run([sys.executable, "-m", "hookpipe.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def free_port() -> int:
    """A free TCP port: the default 29500 clashes with other launches on a shared machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a launched run: this one, the repository importable, one thread per process."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(extra or {})}


def two_process_command(*args: str) -> list[str]:
    """``accelerate launch`` of ``python -m ARGS`` as two gloo CPU processes, on a free port.

    accelerate 1.x starts ONE process for ``--cpu --num_processes 2`` unless mpirun is
    configured; the torchrun launcher (``--multi_gpu``) gives two CPU processes.
    """
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--num_machines", "1", "--main_process_port", str(free_port()), "--mixed_precision", "no",
            "--dynamo_backend", "no", "-m", *args]


def launch_two(*args: str, env: Mapping[str, str] | None = None, cwd: Path = ROOT,
               timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ARGS`` in two processes under ``accelerate launch`` and wait for both.

    Args:
        args: The module and its arguments, e.g. ``("hookpipe.cli", "run", "train.pipe")``.
        env: Variables set on top of :func:`launch_env`'s.
        cwd: The working directory of both processes.
        timeout: Seconds before the launch is killed and the test fails.

    Example:
        >>> done = launch_two("hookpipe.cli", "run", "train.pipe", cwd=tmp_path)  # doctest: +SKIP
    """
    return subprocess.run(two_process_command(*args), cwd=cwd, env=launch_env(env), capture_output=True, text=True,
                          timeout=timeout)


def run_module(*args: str, env: Mapping[str, str] | None = None, cwd: Path = ROOT,
               timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """:func:`launch_two`'s run as one plain process: ``python -m ARGS``, the one-process twin of a test."""
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=launch_env(env), capture_output=True, text=True,
                          timeout=timeout)


def fixtures(area: str) -> list[Path]:
    return sorted((FIXTURES / area).glob("*.pipe"))


def describe(diagnostics: list[Diagnostic]) -> str:
    lines = []
    for d in sort_diagnostics(diagnostics):
        lines.append(f"{d.span.line}:{d.span.column} {d.code} {d.severity}: {d.message}")
        for note in d.notes:
            where = f"{note.span.line}:{note.span.column} " if note.span else ""
            lines.append(f"    note: {where}{note.message}")
        if d.help:
            lines.append(f"    help: {d.help}")
    return "\n".join(lines) + "\n"


def check_golden(pipe: Path, actual: str) -> None:
    expected_path = pipe.with_suffix(".expected")
    assert actual == golden(expected_path, actual)


def compile_fixture(pipe: Path) -> str:
    # Relative to the fixture folder so the output names files the same on every machine.
    cwd = os.getcwd()
    os.chdir(pipe.parent)
    try:
        ctx = compile_path(pipe.name)
    finally:
        os.chdir(cwd)
    return describe(ctx.diagnostics)


def examples() -> list[Path]:
    """Every example pipeline, found anew each run so examples added later are covered."""
    found = sorted((ROOT / "examples").rglob("*.pipe"))
    assert found, "no examples found under examples/"
    return found


def pure_renderer() -> str:
    """The PyPI renderer; a missing one fails the test run (it is a hard dependency)."""
    path = which(PURE)
    assert path, "graphviz-pure is not installed: `pip install -e .` installs it"
    return path


def renderers() -> list[str]:
    """graphviz-pure always, plus Graphviz's dot where it is installed."""
    found = [PURE]
    if shutil.which("dot"):
        found.append("dot")
    return found


def resolve(name: str) -> str:
    return pure_renderer() if name == PURE else str(shutil.which(name))


def golden(path: Path, actual: str) -> str:
    """The expected text of a golden file (rewritten first when HOOKPIPE_UPDATE_GOLDEN=1)."""
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing (HOOKPIPE_UPDATE_GOLDEN=1 writes it)"
    return path.read_text(encoding="utf-8")


_EXPECT = re.compile(r"^# expect: (?:(?P<clean>clean)|(?P<code>HP\d{3}) (?P<severity>error|warning) (?P<line>\d+):(?P<column>\d+))\s*$")

Expected = tuple[str, str, int, int]  # (code, severity, line, column)


@dataclass(frozen=True)
class Fixture:
    path: Path
    expected: tuple[Expected, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def code(self) -> str:
        return self.path.stem.split("_")[0]


def load_fixtures(area: str) -> list[Fixture]:
    """Every fixture of an area (top-level ``*.pipe`` files only; sub-folders hold included parts)."""
    out = []
    for path in sorted((FIXTURES / area).glob("*.pipe")):
        expected: list[Expected] = []
        clean = False
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _EXPECT.match(line)
            if m is None:
                break
            if m["clean"]:
                clean = True
            else:
                expected.append((m["code"], m["severity"], int(m["line"]), int(m["column"])))
        if not expected and not clean:
            raise ValueError(f"{path}: no `# expect:` header")
        out.append(Fixture(path, tuple(expected)))
    return out


@contextlib.contextmanager
def gated_run(pipe: str, cwd: Path, waiting: Path, release: Path) -> "Iterator[subprocess.Popen[str]]":
    """``hookpipe run PIPE`` in a process, held live at its ``runlib.Gate`` until the block ends.

    Yields once the gate wrote ``waiting`` (the run holds its folders then); at the
    end of the block the gate is released and the run must finish with exit 0.
    """
    import time

    holder = subprocess.Popen([sys.executable, "-m", "hookpipe.cli", "run", pipe], cwd=cwd, env=launch_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not waiting.exists():
            assert holder.poll() is None and time.monotonic() < deadline, holder.communicate()
            time.sleep(0.05)
        yield holder
        release.write_text("go")
        out, err = holder.communicate(timeout=120)
        assert holder.returncode == 0, out + err
    finally:
        release.write_text("go")
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
