"""`hookpipe init` writes a project that checks, lints and trains as written, in a fresh folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def hookpipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def test_init_then_check_lint_and_run_train_in_a_fresh_folder(tmp_path: Path) -> None:
    made = hookpipe("init", "demo", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "wrote train.pipe, starter.py, pyproject.toml into demo" in made.stderr
    assert "next: cd demo && hookpipe check train.pipe && hookpipe lint . && hookpipe run train.pipe" in made.stderr
    project = tmp_path / "demo"
    assert 'pipeline "demo"' in (project / "train.pipe").read_text()
    assert "[tool.hookpipe.lint]" in (project / "pyproject.toml").read_text()

    check = hookpipe("check", "train.pipe", cwd=project)
    assert check.returncode == 0 and "train.pipe: ok (plan " in check.stdout
    lint = hookpipe("lint", ".", cwd=project)
    assert lint.returncode == 0 and "hookpipe lint: 1 file checked, no findings" in lint.stdout

    run = hookpipe("run", "train.pipe", cwd=project)
    assert run.returncode == 0, run.stderr
    assert "train.pipe: 150 steps, 5 epochs in" in run.stdout
    first = float(re.findall(r"validation after 30 steps \(epoch 0\): accuracy=([0-9.]+)", run.stdout)[0])
    last = float(re.findall(r"last validation accuracy=([0-9.]+)", run.stdout)[0])
    assert last > 0.85 and last > first  # it learns, from chance level
    assert (project / "runs" / "demo" / "step-00000150" / "hookpipe-checkpoint.json").is_file()


def test_init_writes_a_pipeline_that_fmt_leaves_as_it_is(tmp_path: Path) -> None:
    # A starter is what users copy: it must already be canonical (`hookpipe fmt --check` passes on it).
    for name in ("demo", "a-rather-long-project-name-for-alignment"):
        made = hookpipe("init", name, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        checked = hookpipe("fmt", "--check", "train.pipe", cwd=tmp_path / name)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "would reformat train.pipe" not in checked.stdout + checked.stderr


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "train.pipe").write_text("# mine\n")
    done = hookpipe("init", cwd=tmp_path)
    assert done.returncode == 2
    assert "train.pipe already exists; nothing was written" in done.stderr
    assert (tmp_path / "train.pipe").read_text() == "# mine\n"
    assert not (tmp_path / "starter.py").exists()


def test_init_in_a_folder_with_spaces_and_letters_of_any_script(tmp_path: Path) -> None:
    made = hookpipe("init", "früh start#1", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "next: cd 'früh start#1' && hookpipe check train.pipe" in made.stderr  # pastes into a shell as is
    project = tmp_path / "früh start#1"
    assert 'pipeline "früh-start-1"' in (project / "train.pipe").read_text(encoding="utf-8")
    check = hookpipe("check", "train.pipe", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
