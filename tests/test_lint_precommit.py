"""pre-commit runs the lint and fails on a bad file, naming the code (offline: a local hook)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pre_commit.clientlib import load_manifest

from hookpipe.lint.codes import CODES
from tests.helpers import ROOT

BAD = """\
trainer { max_step = 100 }
hook clip = grad_clip(max_norm = 1.0)
hook optimize = optimizer()

loop { epoch { step { after { optimize -> clip } } } }
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _pre_commit(repo: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp / "cache"), "GIT_CONFIG_GLOBAL": os.devnull,
           "PRE_COMMIT_COLOR": "never"}
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_shipped_hook_manifest_is_valid():
    lint, fmt = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert lint["id"] == "hookpipe-lint"
    assert lint["entry"] == "hookpipe lint"
    assert lint["files"] == r"\.pipe$"
    assert lint["args"] == ["."] and lint["pass_filenames"] is False
    assert (fmt["id"], fmt["entry"], fmt["files"]) == ("hookpipe-fmt", "hookpipe fmt --check", r"\.pipe$")
    assert fmt["pass_filenames"] is True


def test_the_hook_descriptions_name_no_range_of_codes_that_has_gone_stale():
    # "HP101-HP110" outlived HP111: a range must end at the last code of its series.
    for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml")):
        for first, last in re.findall(r"(HP\d{3})\s*[-\u2013]\s*(HP\d{3})", hook["description"]):
            series = sorted(c.code for c in CODES if c.code[:3] == first[:3])
            assert (first, last) == (series[0], series[-1]), (hook["id"], hook["description"], series)


@pytest.mark.slow
def test_pre_commit_fails_on_a_bad_pipe_file_and_names_the_code(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: hookpipe-lint\n"
        "        name: hookpipe lint\n"
        f"        entry: {sys.executable} -m hookpipe.cli lint\n"
        "        args: ['.']\n"
        "        language: system\n"
        "        files: \\.pipe$\n"
        "        pass_filenames: false\n",
        encoding="utf-8",
    )
    (repo / "train.pipe").write_text(BAD, encoding="utf-8")
    _git(repo, "add", ".")
    failed = _pre_commit(repo, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "hookpipe lint" in failed.stdout and "Failed" in failed.stdout
    assert "train.pipe:5:43: HP005 error: effect order violated" in failed.stdout

    (repo / "train.pipe").write_text(BAD.replace("optimize -> clip", "clip -> optimize"), encoding="utf-8")
    _git(repo, "add", ".")
    passed = _pre_commit(repo, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
