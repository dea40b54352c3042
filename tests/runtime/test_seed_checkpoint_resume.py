"""``--resume latest`` finds and verifies the folder of the seed's ``SaveCheckpoint`` hook in a ``.pipe``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.runtime.checkpoints.resume import MARKER, checkpoint_problem, read_marker
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.run import resolve_resume, run_file
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=8, max_step=6, seed=0, progress=False) + """\
hook optimize = optimizer()
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "ckpt", save_step_freq = 4, save_epoch_freq = none)
loop {
    epoch { step { after { optimize -> save } } }
    after { save }
}
"""


@pytest.fixture
def trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished run whose SaveCheckpoint wrote ``ckpt`` after step 4 (and at the loop end, after step 6)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "seed.pipe").write_text(PIPE)
    assert run_file("seed.pipe", [], None) == 0
    return tmp_path


def _plan(folder: Path):  # type: ignore[no-untyped-def]
    return compile_text((folder / "seed.pipe").read_text(), "seed.pipe")


def test_the_folder_carries_a_verified_marker_and_latest_resumes_from_it(
        trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = read_marker(trained / "ckpt")
    assert marker is not None and marker["completed_steps"] == 6 and checkpoint_problem(trained / "ckpt") is None
    assert not (trained / "ckpt.partial").exists() and not (trained / "ckpt.old").exists()
    assert resolve_resume(_plan(trained), "latest") == "ckpt"
    capsys.readouterr()
    assert run_file("seed.pipe", ["trainer.max_step=8"], "latest") == 0
    assert "(resumed from ckpt)" in (out := capsys.readouterr().out) and "; checkpoint ckpt" in out
    assert read_marker(trained / "ckpt")["completed_steps"] == 8  # type: ignore[index]


def test_a_damaged_folder_is_skipped_for_the_previous_one_an_interrupted_swap_left(
        trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.replace(trained / "ckpt", trained / "ckpt.old")  # killed mid-swap: the previous one moved aside
    (trained / "ckpt.partial").mkdir()  # and a half-written one, never taken
    assert resolve_resume(_plan(trained), "latest") == "ckpt.old"
    (trained / "ckpt.old").rename(trained / "ckpt")
    (trained / "ckpt" / "model.safetensors").write_bytes(b"")
    with pytest.raises(PlanResolveError, match=r"--resume latest: no complete checkpoint in ckpt; start without"):
        resolve_resume(_plan(trained), "latest")
    assert "hookpipe: --resume latest: skipping ckpt: model.safetensors is 0 bytes, the marker records" in (
        capsys.readouterr().err)


def test_a_folder_without_a_marker_is_refused_with_how_to_load_it_unverified(
        trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (trained / "ckpt" / MARKER).unlink()  # as RoboOrchard Lab writes it
    with pytest.raises(PlanResolveError, match="no complete checkpoint in ckpt"):
        resolve_resume(_plan(trained), "latest")
    err = capsys.readouterr().err
    assert (f"skipping ckpt: it has no {MARKER}, so it cannot be verified (written by RoboOrchard Lab or an older "
            "hookpipe); name it with --resume ckpt to load it unverified") in err
    assert resolve_resume(_plan(trained), "ckpt") == "ckpt"  # which --resume DIR does
