"""``examples/ports``: each is ``hookpipe import``'s output finished by hand, checks, lints with
warnings as errors, and trains in a CI-sized run (the YOLOX port: test_ports_yolox.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookpipe.porting.writer import MARK
from tests.helpers import ROOT, run_cli, run_module

PORTS = ROOT / "examples" / "ports"


def imported(kind: str, source: Path, module: str, tmp_path: Path) -> str:
    out = tmp_path / "imported.pipe"
    done = run_cli("import", kind, str(source.relative_to(ROOT)), "--module", module, "-o", str(out))
    assert done.code == 1, done.err  # both ports had lines that needed a person
    return out.read_text()


def test_lightning_port_is_the_import_finished_where_it_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.chdir(ROOT)
    text = imported("lightning", PORTS / "lightning/config.yaml", "examples.ports.lightning.train", tmp_path)
    marked = [line for line in text.splitlines() if MARK in line]
    assert len(marked) == 2 and all("name the metric val_step returns" in line for line in marked)
    finished = (PORTS / "lightning/train.pipe").read_text()
    # the hand edits: the header, the pipeline's name, and the two monitored metrics (the marked lines)
    edits = [(r"\A(#[^\n]*\n)+\npipeline \"config\"", ""), (r'"evaluate\.val_acc"', '"evaluate.accuracy"'),
             (r'"evaluate\.val_loss"', '"evaluate.loss"'), (r"  # hookpipe import:[^\n]*", "")]
    for pattern, replacement in edits:
        text = re.sub(pattern, replacement, text)
    assert text.strip() == finished.split('pipeline "lightning_classifier"', 1)[1].strip()


def test_robo_port_keeps_the_imported_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    text = imported("robo", PORTS / "robo/hooks.json", "examples.ports.robo.train", tmp_path)
    line = next(line for line in text.splitlines() if line.startswith("hook save_checkpoint"))
    assert MARK in line and "save_root = none" in line
    finished = (PORTS / "robo/train.pipe").read_text()
    expected = line.split(f"  {MARK}")[0].replace("save_root = none", 'save_root = "runs/ports/robo/checkpoints"')
    assert expected in finished


@pytest.mark.parametrize("port", ["lightning", "robo"])
def test_port_checks_and_lints_with_warnings_as_errors(port: str) -> None:
    pipe = str(PORTS / port / "train.pipe")
    assert run_cli("check", "--resolve", pipe).code == 0
    done = run_cli("lint", "--warnings-as-errors", pipe)
    assert done.code == 0, done.output
    assert run_cli("fmt", "--check", pipe).code == 0


@pytest.mark.slow  # `hookpipe run` in its own process
def test_lightning_port_trains(tmp_path: Path) -> None:
    done = run_module("hookpipe.cli", "run", str(PORTS / "lightning/train.pipe"), "--set", "trainer.max_epoch=2",
                      cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    accuracy = [float(a) for a in re.findall(r"accuracy=([0-9.]+)", done.stdout)]
    assert len(accuracy) >= 2 and accuracy[-1] > 0.8, done.stdout[-2000:]
    folder = tmp_path / "runs/ports/lightning"
    assert (folder / "checkpoints/best").is_symlink() and (folder / "logs/metrics.csv").is_file()


@pytest.mark.slow  # `hookpipe run` in its own process
def test_robo_port_trains(tmp_path: Path) -> None:
    done = run_module("hookpipe.cli", "run", str(PORTS / "robo/train.pipe"), "--set", "trainer.max_epoch=1",
                      "--set", "hook.save_checkpoint.save_step_freq=20", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "45 steps, 1 epoch" in done.stdout
    saved = tmp_path / "runs/ports/robo/checkpoints"
    assert (saved / "hookpipe-checkpoint.json").is_file() and (saved / "model.safetensors").is_file()


@pytest.mark.slow  # two `hookpipe run` processes
def test_lightning_port_trains_on_two_processes(tmp_path: Path) -> None:
    """Under DDP the model is the wrapper: the port's val_step (as docs/lightning.md writes it) unwraps it."""
    done = run_module("hookpipe.cli", "run", str(PORTS / "lightning/train.pipe"), "--processes", "2",
                      "--set", "trainer.max_step=12", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "validation_step" not in done.stderr
