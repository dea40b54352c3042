"""The Python API says where a run writes beside another, as ``hookpipe run`` does.

A second ``HookBasedTrainer.from_file(...)()`` of one file writes into ``v1`` (see
``checkpoints/versions.py``); ``hookpipe run`` says so when it starts, and the API
now does too: a warning of the ``hookpipe.runtime.trainer`` logger, once, escaped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hookpipe.runtime import HookBasedTrainer
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=4, max_step=2, seed=0, cpu=True, progress=False) + """\
hook optimize = optimizer()
hook save     = checkpoint(dir = "runs/ckpt")
loop {
    epoch { step { after { optimize } } }
    after { save }
}
"""

LOGGER = "hookpipe.runtime.trainer"


def notes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_a_second_run_from_the_api_says_it_writes_to_v1_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "train.pipe"
    path.write_text(PIPE, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        HookBasedTrainer.from_file(str(path))()
        assert notes(caplog) == []  # a first run into empty folders: nothing to say
        trainer = HookBasedTrainer.from_file(str(path))
        assert notes(caplog) == []  # said when the run starts, as `hookpipe run` does
        trainer()
        trainer()  # called again: said once
    assert notes(caplog) == [
        "this run writes to runs/ckpt/v1: the folders the .pipe file names hold another run's checkpoints or logs, "
        "and it is a new run, so nothing there is replaced or pruned (--resume latest finds the newest version)"]
    assert (tmp_path / "runs" / "ckpt" / "v1" / "step-00000002").is_dir()


def test_a_folder_name_in_the_note_is_escaped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "train.pipe"
    path.write_text(PIPE, encoding="utf-8")
    forged = {"hook.save.dir": "runs/ck\n::error::forged\x1b[31m"}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        HookBasedTrainer.from_file(str(path), forged)()
        HookBasedTrainer.from_file(str(path), forged)()
    (said,) = notes(caplog)
    assert said.startswith("this run writes to runs/ck\\n::error::forged\\x1b[31m/v1: ")
    assert "\n" not in said and "\x1b" not in said


def test_the_command_line_says_it_itself_and_the_api_logs_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    from hookpipe.runtime.run import run_file

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "train.pipe"
    path.write_text(PIPE, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert run_file(str(path), [], None) == 0
        assert run_file(str(path), [], None) == 0
    assert notes(caplog) == []
    err = capsys.readouterr().err
    assert err.count("this run writes to runs/ckpt/v1: ") == 1
    assert "hookpipe run: this run writes to runs/ckpt/v1: " in err
