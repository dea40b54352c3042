"""The lint is safe on untrusted input: it never imports torch, accelerate or user code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

_PROBE = """
import sys
from hookpipe.cli import main
status = main(["lint", "--format", "sarif", "--jobs", "1", sys.argv[1]])
heavy = [m for m in ("torch", "accelerate", "robo_orchard_core", "project", "project.hooks") if m in sys.modules]
print("HEAVY", heavy, "STATUS", status, file=sys.stderr)
"""


@pytest.mark.slow
def test_lint_imports_no_torch_and_no_user_code(tmp_path):
    # a module the pipeline names: importing it would leave a trace
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "__init__.py").write_text("open(__file__ + '.imported', 'w').close()\n")
    (tmp_path / "project" / "hooks.py").write_text("open(__file__ + '.imported', 'w').close()\n")
    pipe = tmp_path / "train.pipe"
    pipe.write_text((ROOT / "tests/fixtures/lint/HP106_fail.pipe").read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(pipe)], cwd=tmp_path, capture_output=True, text=True)
    assert "HEAVY [] STATUS 0" in proc.stderr, proc.stderr
    assert '"ruleId": "HP106"' in proc.stdout
    assert not list(tmp_path.rglob("*.imported"))
