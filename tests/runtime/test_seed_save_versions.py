"""RoboOrchard Lab's ``SaveCheckpoint`` and ``SaveModel`` in a ``.pipe`` run never replace another run's files.

The rule of ``checkpoints/versions.py``: a run that continues the checkpoint in
``save_root`` (resumed from it, only the limits changed) writes there; any other
writes into the next version, ``<save_root>.vN`` beside ``SaveCheckpoint``'s folder
(which every save replaces as a whole) and ``save_root/vN`` inside ``SaveModel``'s.
A trainer built in Python keeps the seed's overwriting (``docs/compat.md``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer, SaveCheckpointConfig
from hookpipe.runtime.checkpoints.resume import checkpoint_problem, read_marker, write_marker
from hookpipe.runtime.checkpoints.versions import choose_place
from hookpipe.runtime.run import resolve_resume, run_file
from tests.runtime.hooklib import MSE, tiny_loader, tiny_model
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=8, max_step=6, seed=0, progress=False) + """\
hook optimize = optimizer()
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "ckpt", save_step_freq = 4, save_epoch_freq = none)
hook export   = "hookpipe.runtime.SaveModelConfig"(save_root = "models", save_step_freq = 4, save_epoch_freq = none)
loop {
    epoch { step { after { optimize -> save -> export } } }
    after { save -> export }
}
"""

NEW_RUN_NOTE = ("hookpipe run: this run writes to ckpt.v1 and models/v1: the folders the .pipe file names hold "
                "another run's checkpoints or logs, and {why}, so nothing there is replaced or pruned")


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder``, relative to it, with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """A finished first run (checkpoint and export after steps 4 and 6); every file it wrote, hashed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "seed.pipe").write_text(PIPE)
    assert run_file("seed.pipe", [], None) == 0
    capsys.readouterr()
    written = tree(tmp_path)
    assert "ckpt/model.safetensors" in written and "models/model_epoch_0_step_3/0/model.safetensors" in written
    assert read_marker(tmp_path / "ckpt")["completed_steps"] == 6  # type: ignore[index]
    return written


def _unchanged(folder: Path, before: dict[str, str]) -> None:
    """The first run's files, bit for bit, and nothing added inside its checkpoint folder."""
    after = tree(folder)
    assert {name: after.get(name) for name in before} == before
    assert {name for name in after if name.startswith("ckpt/")} == {name for name in before if name.startswith("ckpt/")}


def test_a_second_new_run_writes_beside_the_first_and_leaves_its_files_intact(
        first: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_file("seed.pipe", ["trainer.optimizer.lr=0.5", "trainer.max_step=4"], None) == 0
    out = capsys.readouterr()
    assert NEW_RUN_NOTE.format(why="it is a new run") in out.err
    assert "; checkpoint ckpt.v1" in out.out
    _unchanged(tmp_path, first)
    assert checkpoint_problem(tmp_path / "ckpt.v1") is None
    assert read_marker(tmp_path / "ckpt.v1")["completed_steps"] == 4  # type: ignore[index]
    assert (tmp_path / "models" / "v1" / "model_epoch_0_step_3" / "0" / "model.safetensors").is_file()
    # Its own run: another id in the marker; --resume latest now finds it, the most recently started run.
    assert read_marker(tmp_path / "ckpt.v1")["run"] != read_marker(tmp_path / "ckpt")["run"]  # type: ignore[index]
    assert resolve_resume(compile_text(PIPE, "seed.pipe"), "latest") == "ckpt.v1"


def test_resume_latest_of_the_same_run_continues_in_place(
        first: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = read_marker(tmp_path / "ckpt")["run"]  # type: ignore[index]
    assert run_file("seed.pipe", ["trainer.max_step=8"], "latest") == 0
    out = capsys.readouterr()
    assert "this run writes to" not in out.err and "(resumed from ckpt)" in out.out and "; checkpoint ckpt" in out.out
    assert not (tmp_path / "ckpt.v1").exists() and not (tmp_path / "models" / "v1").exists()
    marker = read_marker(tmp_path / "ckpt")
    assert marker is not None and marker["completed_steps"] == 8 and marker["run"] == run_id
    exports = {name for name in tree(tmp_path) if name.startswith("models/model_epoch_")}
    assert exports - set(first)  # the continued run's exports, beside the first part's


def test_a_resume_reports_and_judges_the_position_the_seed_checkpoint_records(
        first: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SaveCheckpoint writes hookpipe-progress.json, not hookpipe-state-0.json: the report reads the former."""
    assert run_file("seed.pipe", ["trainer.max_step=4"], "latest") == 1  # below the 6 steps it holds
    out = capsys.readouterr()
    assert "nothing to train: ckpt stands after 6 steps (epoch 2), past trainer.max_step=4" in out.err, out.err
    _unchanged(tmp_path, first)
    assert run_file("seed.pipe", ["trainer.max_step=8"], "latest") == 0
    assert "resuming ckpt after 6 steps (epoch 2); changed since the checkpoint:" in capsys.readouterr().err


def test_resuming_a_finished_run_trains_nothing_and_rewrites_nothing(
        first: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The loop-end save marks its checkpoint (``"at": "loop"``): the run it holds is over, as the built-in's is."""
    assert read_marker(tmp_path / "ckpt")["at"] == "loop"  # type: ignore[index]
    assert run_file("seed.pipe", [], "latest") == 1
    assert ("nothing to train: ckpt ends a run after 6 steps (epoch 2), and trainer.max_step=6 ends there too; to "
            "train further, raise the limit") in capsys.readouterr().err
    assert run_file("seed.pipe", ["trainer.optimizer.lr=0.5"], "auto") == 0  # a job started again: done already
    assert "nothing to train" in capsys.readouterr().err
    _unchanged(tmp_path, first)
    assert not (tmp_path / "ckpt.v1").exists() and tree(tmp_path) == first


def test_a_resume_with_a_changed_lr_writes_a_new_version(
        first: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_file("seed.pipe", ["trainer.max_step=8", "trainer.optimizer.lr=0.5"], "latest") == 0
    err = capsys.readouterr().err
    assert "trainer.optimizer.lr: 0.01 -> 0.5" in err  # the checkpoint records its Plan: the change is seen
    assert NEW_RUN_NOTE.format(why="it resumes with changed settings") in err
    _unchanged(tmp_path, first)
    assert read_marker(tmp_path / "ckpt.v1")["completed_steps"] == 8  # type: ignore[index]


def test_resume_latest_continues_the_newest_version_and_skips_a_damaged_one(
        first: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_file("seed.pipe", ["trainer.max_step=4"], None) == 0  # a second run: ckpt.v1
    capsys.readouterr()
    assert run_file("seed.pipe", ["trainer.max_step=8"], "latest") == 0
    out = capsys.readouterr()
    assert "(resumed from ckpt.v1)" in out.out and "this run writes to" not in out.err
    assert read_marker(tmp_path / "ckpt.v1")["completed_steps"] == 8  # type: ignore[index]
    assert not (tmp_path / "ckpt.v2").exists() and not (tmp_path / "models" / "v2").exists()
    _unchanged(tmp_path, first)
    (tmp_path / "ckpt.v1" / "model.safetensors").write_bytes(b"")
    assert resolve_resume(compile_text(PIPE, "seed.pipe"), "latest") == "ckpt"
    assert "hookpipe: --resume latest: skipping ckpt.v1: model.safetensors is 0 bytes" in capsys.readouterr().err


def _checkpoint(folder: Path, run: str) -> None:
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    write_marker(folder, 4, 0, run=run)


def test_a_version_left_aside_by_an_interrupted_swap_stays_taken(tmp_path: Path) -> None:
    """Killed mid-swap, run 1 holds only ``ckpt.v1.old``: a new run takes v2, a resume of it continues v1."""
    _checkpoint(tmp_path / "ckpt", "run-0")
    _checkpoint(tmp_path / "ckpt.v1.old", "run-1")
    place = choose_place(None, None, None, in_place=[tmp_path / "ckpt"])
    assert place.version == 2 and place.beside(tmp_path / "ckpt") == tmp_path / "ckpt.v2"
    resumed = choose_place(None, None, tmp_path / "ckpt.v1.old", in_place=[tmp_path / "ckpt"])
    assert (resumed.version, resumed.run_id, resumed.note) == (1, "run-1", None)


def test_a_trainer_built_in_python_overwrites_its_save_root_as_the_seed_does(tmp_path: Path) -> None:
    """The seed's API is unchanged (docs/compat.md): no version folders, no Plan or run id in the marker."""
    save = tmp_path / "ckpt"
    for lr in (0.01, 0.5):
        model = tiny_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        HookBasedTrainer(accelerator=Accelerator(cpu=True), model=model, dataloader=tiny_loader(n=8, batch_size=2),
                         batch_processor=MSE(), optimizer=optimizer, max_step=4 if lr == 0.01 else 2,
                         lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=100),
                         hooks=[SaveCheckpointConfig(save_root=str(save), save_step_freq=4, save_epoch_freq=None)])()
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]
    marker = read_marker(save)
    assert marker is not None and marker["completed_steps"] == 2 and "run" not in marker
    assert not (save / "hookpipe-plan.json").exists()


def test_a_save_root_without_a_folder_name_is_refused_before_training(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "seed.pipe").write_text(PIPE)
    assert run_file("seed.pipe", ["hook.save.save_root=."], None) == 1
    err = capsys.readouterr().err
    line = PIPE.splitlines().index(next(t for t in PIPE.splitlines() if t.startswith("hook save "))) + 1
    assert (f"hookpipe run: seed.pipe: hook 'save' (seed.pipe:{line}): save_root = '.' names no folder of its own, "
            "and SaveCheckpoint replaces its whole folder on each save; name one, such as save_root = \"runs/ckpt\", "
            "in the file or with --set hook.save.save_root=runs/ckpt") in err
    assert "Traceback" not in err and sorted(os.listdir(tmp_path)) == ["pyproject.toml", "seed.pipe"]


@pytest.mark.slow  # two real runs at once
def test_a_run_started_beside_a_live_one_saves_into_its_own_version(tmp_path: Path) -> None:
    """Before either saved anything: both found ``ckpt`` empty, and each removed the other's ``ckpt.partial``."""
    import subprocess
    import sys

    from tests.helpers import gated_run, launch_env

    gate = (f'hook gate     = "tests.runtime.runlib.Gate"(step = 0, marker = "{tmp_path / "waiting"}", '
            f'release = "{tmp_path / "release"}")\n')
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a.pipe").write_text(PIPE.replace("loop {", gate + "loop {").replace(
        "optimize -> save -> export }", "optimize -> save -> export -> gate }"))
    (tmp_path / "b.pipe").write_text(PIPE)
    with gated_run("a.pipe", tmp_path, tmp_path / "waiting", tmp_path / "release") as holder:
        # live, holding ckpt and models, nothing saved yet
        assert not (tmp_path / "ckpt" / "model.safetensors").exists()
        done = subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", "b.pipe"], cwd=tmp_path,
                              env=launch_env(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (f"hookpipe run: this run writes to ckpt.v1 and models/v1: another run is writing to ckpt now "
                f"(host '{os.uname().nodename}', pid {holder.pid}, started ") in done.stderr, done.stderr
    for folder in ("ckpt", "ckpt.v1"):
        assert read_marker(tmp_path / folder)["completed_steps"] == 6  # type: ignore[index]
        assert checkpoint_problem(tmp_path / folder) is None
    assert read_marker(tmp_path / "ckpt")["run"] != read_marker(tmp_path / "ckpt.v1")["run"]  # type: ignore[index]
    assert (tmp_path / "models" / "model_epoch_0_step_3" / "0" / "model.safetensors").is_file()
    assert (tmp_path / "models" / "v1" / "model_epoch_0_step_3" / "0" / "model.safetensors").is_file()
    assert not list(tmp_path.rglob(".hookpipe-run.lock*"))  # both runs let go of their folders


@pytest.mark.slow  # three real runs
def test_sigterm_saves_with_the_seed_checkpoint_hook_and_the_resume_ends_where_an_unbroken_run_does(
        tmp_path: Path) -> None:
    """`hookpipe run` promises a stop finishes the step and checkpoints with the file's checkpoint hook."""
    import subprocess
    import sys

    from safetensors.torch import load_file

    from tests.helpers import launch_env

    def run(folder: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
        folder.mkdir()
        (folder / "pyproject.toml").write_text("")
        (folder / "seed.pipe").write_text(text)
        return subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", "seed.pipe", *args], cwd=folder,
                              env=launch_env(), capture_output=True, text=True, timeout=300)

    unbroken = run(tmp_path / "a", PIPE)
    assert unbroken.returncode == 0, unbroken.stderr
    term = PIPE.replace("loop {", 'hook term = h.SignalAt(step = 4, signal = "SIGTERM")\nloop {').replace(
        "epoch { step { after", "epoch { step {\n before { term }\n after")
    stopped = run(tmp_path / "b", term)
    assert stopped.returncode == 143, stopped.stderr
    assert "stopped by SIGTERM after 5 steps; checkpoint ckpt (resume with --resume latest)" in stopped.stderr
    assert read_marker(tmp_path / "b" / "ckpt")["completed_steps"] == 5  # type: ignore[index]
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", "run", "seed.pipe", "--resume", "latest"],
                          cwd=tmp_path / "b", env=launch_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "(resumed from ckpt)" in done.stdout, done.stderr
    final = [load_file(str(tmp_path / side / "ckpt" / "model.safetensors")) for side in ("a", "b")]
    assert final[0].keys() == final[1].keys() and all(torch.equal(final[0][k], final[1][k]) for k in final[0])
