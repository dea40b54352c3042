"""README's way to add hookpipe to an existing RoboOrchard Lab environment, done for real.

An environment that sees RoboOrchard Lab 0.4.0's packages (its venv's
site-packages through a ``.pth`` file, so the check reuses the installed stack
instead of downloading it again) gets hookpipe the way README says,
``pip install hookpipe`` (here hookpipe's freshly built wheel). The check: pip
changes none of the environment's versions (numpy 1, accelerate, torch,
robo_orchard_core, pydantic), adds only the compiler side's small packages, and
a RoboOrchard-style project script then trains on the installed hookpipe exactly as
on RoboOrchard Lab itself. pip needs the package index for lark and graphviz.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.compat.peer import ROOT, seed_python

pytestmark = pytest.mark.slow

PROGRAMS = Path(__file__).with_name("programs.py")
KEPT = ("numpy", "accelerate", "torch", "robo_orchard_core", "robo_orchard_lab", "pydantic", "safetensors")


def _versions(python: str) -> dict[str, str]:
    code = f"import json, importlib.metadata as m; print(json.dumps({{n: m.version(n) for n in {KEPT!r}}}))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def _run(python: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, *args], capture_output=True, text=True, timeout=900, cwd=cwd)


def test_pip_install_hookpipe_into_a_robo_orchard_lab_environment_keeps_its_stack(tmp_path: Path) -> None:
    seed = seed_python()
    before = _versions(seed)
    assert before["numpy"].startswith("1.")
    built = _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                 "-w", str(tmp_path / "dist"), str(ROOT))
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("hookpipe-*.whl")

    env = tmp_path / "env"
    made = _run(seed, "-m", "venv", "--without-pip", str(env))  # RoboOrchard Lab's pip, setuptools, ... come in
    assert made.returncode == 0, made.stderr[-2000:]
    python = str(env / "bin" / "python")
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    seed_site = _run(seed, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    (Path(site) / "robo_orchard_lab_env.pth").write_text(seed_site + "\n", encoding="utf-8")
    assert _versions(python) == before

    start = time.monotonic()
    pip = ["-m", "pip", "--python", python, "--disable-pip-version-check"]  # the environment's pip, run on it
    installed = _run(seed, *pip, "install", "--quiet", str(wheel))
    seconds = time.monotonic() - start
    assert installed.returncode == 0, installed.stderr[-3000:]
    print(f"pip install hookpipe into the RoboOrchard Lab environment: {seconds:.1f} s")
    assert _versions(python) == before  # numpy 1, accelerate, torch, ... untouched
    added = {p.name.split("-")[0].lower() for p in Path(site).glob("*.dist-info")}
    assert added <= {"hookpipe", "lark", "graphviz", "graphviz_pure"}, added
    # No requirement newly broken: the same report as the RoboOrchard Lab environment's own.
    assert _run(seed, *pip, "check").stdout == _run(seed, "-m", "pip", "check").stdout

    # From a folder outside the checkout, as a user's project would.
    where = _run(python, "-c", "import hookpipe.runtime, hookpipe; print(hookpipe.__file__)", cwd=tmp_path)
    assert where.returncode == 0 and where.stdout.strip().startswith(site), where.stdout + where.stderr
    results = {}
    for impl, interpreter in (("hookpipe", python), ("seed", seed)):
        out = tmp_path / impl
        done = _run(interpreter, str(PROGRAMS), "--impl", impl, "--program", "project", "--out", str(out), cwd=tmp_path)
        if impl == "hookpipe":
            assert "hookpipe" not in {p.name for p in PROGRAMS.parent.iterdir()}  # so it imports the installed one
        assert done.returncode == 0, done.stderr[-3000:]
        results[impl] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert results["hookpipe"]["losses"] == results["seed"]["losses"]
    assert results["hookpipe"]["params"] == results["seed"]["params"]
