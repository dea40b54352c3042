"""``hookpipe run`` shows the INFO records of RoboOrchard Lab's hooks, which report by logging alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import launch_env
from tests.runtime.planbuild import tiny_trainer_text

PIPE = 'use h = "tests.runtime.hooklib"\n' + tiny_trainer_text(n=8, max_step=4, seed=0, progress=False) + """\
hook optimize = optimizer()
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "ckpt", save_step_freq = 2, save_epoch_freq = none)
loop {
    epoch { step { after { optimize -> save } } }
    after { save }
}
"""


def run(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "seed.pipe").write_text(text)
    return subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", "seed.pipe"], cwd=tmp_path,
                          env=launch_env(), capture_output=True, text=True, timeout=300)


def test_the_seed_hooks_log_lines_are_shown_once_each(tmp_path: Path) -> None:
    done = run(tmp_path, PIPE)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("robo_orchard_lab.")]
    assert said == [
        "robo_orchard_lab.pipeline.hooks.checkpoint: Save checkpoint at the end of step 1 to ckpt",
        "robo_orchard_lab.pipeline.hooks.checkpoint: Save checkpoint at the end of step 3 to ckpt",
        "robo_orchard_lab.pipeline.hooks.checkpoint: Save checkpoint at the end of training to ckpt",
    ], done.stderr
    assert "BEGIN TRAINING" not in done.stderr  # the trainer's banners: hookpipe run says what it did itself


def test_logging_the_user_s_code_configured_is_left_alone(tmp_path: Path) -> None:
    """A module of the run that calls logging.basicConfig decides: its format, not a second copy of each line."""
    (tmp_path / "setup_logs.py").write_text(
        "import logging\nlogging.basicConfig(level=logging.INFO, format='LOG %(message)s')\n"
        "def model():\n    from tests.runtime.hooklib import tiny_model\n    return tiny_model()\n")
    text = PIPE.replace('use h = "tests.runtime.hooklib"\n', 'use h = "tests.runtime.hooklib"\nuse s = "setup_logs"\n')
    text = text.replace("h.tiny_model()", "s.model()")
    assert "s.model()" in text
    done = run(tmp_path, text)
    assert done.returncode == 0, done.stderr
    assert "LOG Save checkpoint at the end of step 1 to ckpt" in done.stderr.splitlines()
    assert "robo_orchard_lab.pipeline.hooks.checkpoint:" not in done.stderr


def test_a_user_configured_level_above_info_keeps_the_seed_hooks_quiet(tmp_path: Path) -> None:
    """`logging.basicConfig(level=WARNING)` in the run's code: no INFO line gets past it."""
    (tmp_path / "setup_logs.py").write_text(
        "import logging\nlogging.basicConfig(level=logging.WARNING, format='LOG %(message)s')\n"
        "def model():\n    from tests.runtime.hooklib import tiny_model\n    return tiny_model()\n")
    text = PIPE.replace('use h = "tests.runtime.hooklib"\n', 'use h = "tests.runtime.hooklib"\nuse s = "setup_logs"\n')
    done = run(tmp_path, text.replace("h.tiny_model()", "s.model()"))
    assert done.returncode == 0, done.stderr
    assert "Save checkpoint" not in done.stderr
