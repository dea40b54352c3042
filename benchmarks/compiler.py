"""The compiler benchmark: compile time at scale, ``hookpipe lint`` cold start and bulk.

Every figure is a whole separate process, so peak memory (the process's maximum
resident set, from ``wait4``) belongs to that measurement alone. Sizes are
interleaved (1k 10k 50k 1k 10k 50k ...). Compile time is measured inside the
process around ``compile_text`` (parse, every pass, lowering) after the parser is
built; lint figures are the wall time of the whole ``hookpipe lint`` process.
Before measuring, one lint process runs with bytecode writing on, so the modules'
``.pyc`` files and the cached parser exist, as after ``pip install`` and a
first run.

With ``baseline`` (a git revision), the same measurements of that revision's code
run interleaved with this checkout's (this, baseline, this, baseline ...), on the
same inputs, in the same interpreter and environment: the ratio holds when the
machine's speed drifts, which on a shared host is several tens of percent within
minutes. The revision's tracked files are exported with ``git archive`` into a
temporary folder that goes first on ``PYTHONPATH``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.generate import generate
from benchmarks.lint_200 import pipeline

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 50_000)
#: The one-file lint's input: this checkout's, for a baseline too (the same input for both).
EXAMPLE = str(ROOT / "examples" / "digits" / "train.pipe")

_COMPILE = (
    "import json, resource, sys, time\n"
    "from hookpipe.compiler import compile_text\n"
    "from hookpipe.dsl.grammar import parser\n"
    "parser()\n"
    "text = open(sys.argv[1], encoding='utf-8').read()\n"
    "start = time.perf_counter()\n"
    "plan = compile_text(text, 'generated.pipe')\n"
    "seconds = time.perf_counter() - start\n"
    "assert sum(len(p.entries) for p in plan.phases) == int(sys.argv[2])\n"
    "peak = next((int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:')), None)\n"
    "import hookpipe\n"
    "print(json.dumps({'seconds': seconds, 'peak_mb': peak, 'package': hookpipe.__file__}))\n"
)


@dataclass
class Sample:
    seconds: float
    #: The process's own peak RSS (``VmHWM``), where it reports it; a child's
    #: ``ru_maxrss`` would include the parent's memory it was forked from.
    peak_mb: float | None


#: What a baseline's measurements are named after: this checkout's name plus this.
BASELINE = " (baseline)"


def _env(code: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(code))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _process(cmd: list[str], code: Path = ROOT) -> tuple[float, float, str]:
    """Run ``cmd`` with ``code``'s hookpipe; return (wall seconds, peak RSS in MB, stdout)."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=code, env=_env(code), stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode not in (0, 1):  # lint exits 1 on findings; anything else is a failure
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, text


def _hookpipe() -> list[str]:
    script = Path(sys.executable).with_name("hookpipe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hookpipe.cli"]


def export(revision: str, into: Path) -> Path:
    """The tracked files of ``revision`` of this repository, written under ``into``."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"--baseline {revision}: git archive failed: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # Links are left out: an old revision tracked a link to a machine's own folder.
        tar.extractall(into, filter=lambda member, path: None if member.issym() or member.islnk()
                       else tarfile.data_filter(member, path))
    # The package maps ``hookpipe.grammars`` to the top-level ``grammars/`` folder
    # (pyproject's package-dir); on PYTHONPATH the revision's own grammar must sit
    # inside its package, or the editable install would hand it this checkout's.
    grammars = into / "grammars"
    if grammars.is_dir() and not (into / "hookpipe" / "grammars").exists():
        shutil.copytree(grammars, into / "hookpipe" / "grammars")
    return into


def run(sizes: tuple[int, ...] = SIZES, rounds: int = 5, lint_files: int = 200,
        baseline: str | None = None) -> dict[str, list[Sample]]:
    """Measure; returns samples by measurement name (a baseline's named with :data:`BASELINE`)."""
    results: dict[str, list[Sample]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="hookpipe-bench-"))
    try:
        codes = [(ROOT, "")]
        if baseline is not None:
            codes.append((export(baseline, tmp / "baseline"), BASELINE))
        inputs = {}
        for size in sizes:
            inputs[size] = tmp / f"generated_{size}.pipe"
            inputs[size].write_text(generate(size), encoding="utf-8")
        many = tmp / "many"
        many.mkdir()
        for i in range(lint_files):
            (many / f"pipeline_{i:03d}.pipe").write_text(pipeline(i), encoding="utf-8")
        lint = _hookpipe() + ["lint"]
        for code, _ in codes:
            _process(lint + [EXAMPLE], code)  # writes .pyc files and the parser cache
        for _ in range(rounds):
            for size in sizes:
                for code, suffix in codes:
                    _, _, out = _process([sys.executable, "-c", _COMPILE, str(inputs[size]), str(size)], code)
                    answer = json.loads(out)
                    if not Path(answer["package"]).resolve().is_relative_to(code.resolve()):
                        raise RuntimeError(f"measured {answer['package']}, not the code under {code}")
                    results.setdefault(f"compile {size}{suffix}", []).append(Sample(answer["seconds"], answer["peak_mb"]))
            for code, suffix in codes:
                wall, _, _ = _process(lint + [EXAMPLE], code)
                results.setdefault(f"lint one file{suffix}", []).append(Sample(wall, None))
            for code, suffix in codes:
                wall, _, _ = _process(lint + [str(many)], code)
                results.setdefault(f"lint {lint_files} files{suffix}", []).append(Sample(wall, None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def median(samples: list[Sample]) -> Sample:
    peaks = [s.peak_mb for s in samples if s.peak_mb is not None]
    return Sample(statistics.median(s.seconds for s in samples), max(peaks) if peaks else None)
