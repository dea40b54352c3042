"""The compile-side commands' small surprises for a new user, through the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def hookpipe(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_check_accepts_folders_like_lint() -> None:
    done = hookpipe("check", "examples/")
    assert done.returncode == 0, done.stderr
    assert all(": ok (plan " in line for line in done.stdout.splitlines())
    checked = [line.split(":")[0] for line in done.stdout.splitlines()]
    # The included fragment is checked through finetune.pipe, as lint does.
    assert checked == [
        "examples/all_scopes.pipe", "examples/cnn/train.pipe", "examples/digits/train.pipe", "examples/finetune.pipe",
        "examples/ports/lightning/train.pipe", "examples/ports/robo/train.pipe", "examples/ports/yolox/train.pipe",
    ]


def test_check_still_refuses_a_missing_path() -> None:
    done = hookpipe("check", "examples/", "examples/nothere.pipe")
    assert done.returncode == 2
    assert "hookpipe: error: examples/nothere.pipe: no such file" in done.stderr


def test_a_file_of_another_language_gets_one_line_saying_check_reads_pipe_files(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text("import torch\n\ndef build():\n    return torch.nn.Linear(4, 2)\n")
    done = hookpipe("check", "model.py", cwd=tmp_path)
    assert done.returncode == 1 and "HP001" in done.stderr
    assert done.stderr.count("hookpipe check reads .pipe files") == 1
    (tmp_path / "bad.pipe").write_text("loop { epoch {\n")
    done = hookpipe("check", "bad.pipe", cwd=tmp_path)
    assert done.returncode == 1 and "hookpipe check reads .pipe files" not in done.stderr


def test_check_of_a_lightning_config_says_why_first_and_which_import_converts_it(tmp_path: Path) -> None:
    (tmp_path / "lit.yaml").write_text("trainer:\n  max_epochs: 3\n  accumulate_grad_batches: 2\nmodel:\n"
                                       "  class_path: x.Y\n  init_args:\n    lr: 0.1\n")
    done = hookpipe("check", "lit.yaml", cwd=tmp_path)
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and lines[0] == (
        "lit.yaml: only syntax errors, and the name does not end in .pipe: hookpipe check reads .pipe files (is "
        "this another kind of file?); a LightningCLI config? convert it with `hookpipe import lightning lit.yaml "
        "-o train.pipe`")
    assert done.stderr.count("HP001 error") == 3 and "lit.yaml: 4 more syntax errors not shown" in lines
    assert lines[-1] == "hookpipe: 7 errors"


def test_lint_of_a_file_of_another_language_says_it_reads_pipe_files_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text("import torch\n\ndef build():\n    return torch.nn.Linear(4, 2)\n")
    done = hookpipe("lint", "model.py", "--format", "github", cwd=tmp_path)
    assert done.returncode == 1 and "::error" in done.stdout
    assert done.stderr.count("hookpipe lint reads .pipe files") == 1
    assert "reads .pipe files" not in done.stdout  # the CI report stays in its format
    (tmp_path / "bad.pipe").write_text("loop { epoch {\n")
    done = hookpipe("lint", "bad.pipe", "model.py", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("reads .pipe files") == 1
    assert "bad.pipe: only syntax errors" not in done.stderr


def test_explain_steps_folds_identical_consecutive_steps() -> None:
    done = hookpipe("explain", "examples/digits/train.pipe", "--steps", "90", "--steps-per-epoch", "45")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "  step  epoch  phase             hooks",
        "     -      -  loop.before       evaluate",
        "  1-45      0  step.after        clip, optimize",
        "     -      0  epoch.after       evaluate",
        " 46-49      1  step.after        clip, optimize",
        "    50      1  step.after        clip, optimize, speed (main)",
        " 51-90      1  step.after        clip, optimize",
        "     -      1  epoch.after       evaluate",
        "# the table stops at step 90, before the run ends at step 225 (max_epoch = 5, 45 steps per epoch): what "
        "fires after it, `at end` firings included, is not listed",
    ]


def test_fmt_check_counts_files_it_could_not_format(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pipe"
    broken.write_text("trainer {\n    max_step = 1\n")
    done = hookpipe("fmt", "--check", str(broken))
    assert done.returncode == 1
    assert "hookpipe fmt: 1 file, 0 would reformat, 1 not formatted (syntax errors: fix them first)" in done.stderr


def test_a_missing_include_is_the_only_error(tmp_path: Path) -> None:
    source = (ROOT / "examples" / "finetune.pipe").read_text()
    pipe = tmp_path / "finetune.pipe"
    pipe.write_text(source.replace("compose/base.pipe", "compose/bsae.pipe"))
    done = hookpipe("check", str(pipe), cwd=tmp_path)
    assert done.returncode == 1
    assert "finetune.pipe:4:1: HP010 error: included file `compose/bsae.pipe` was not found" in done.stderr
    assert "HP003" not in done.stderr and "hookpipe: 1 error" in done.stderr
