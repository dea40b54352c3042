"""A run given a version sub-folder (``checkpoints/versions.py``) leaves none behind when it saved nothing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from hookpipe.runtime.builtins.checkpoint import CheckpointHook
from hookpipe.runtime.checkpoints.versions import RunPlace


def started(base: Path, version: int | None) -> CheckpointHook:
    """A checkpoint hook placed as ``choose_place`` decides, its run started (the folder lock taken)."""
    hook = CheckpointHook(str(base))
    hook.use_place(RunPlace(version, "run-a"))
    hook.bind_trainer(SimpleNamespace(accelerator=None))
    return hook


def test_a_run_that_saved_nothing_leaves_no_empty_version_folder(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()  # an earlier run's folder
    hook = started(tmp_path / "ckpt", 1)
    assert (tmp_path / "ckpt" / "v1").is_dir()  # the run's lock made it
    hook.close()
    assert not (tmp_path / "ckpt" / "v1").exists() and (tmp_path / "ckpt").is_dir()


def test_a_version_folder_with_anything_in_it_is_kept(tmp_path: Path) -> None:
    hook = started(tmp_path / "ckpt", 2)
    kept = tmp_path / "ckpt" / "v2" / "step-00000004"
    kept.mkdir()
    hook.close()
    assert kept.is_dir()


def test_the_folder_a_pipe_file_names_is_never_removed_when_it_was_there_before(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()
    hook = started(tmp_path / "ckpt", None)
    hook.close()
    assert (tmp_path / "ckpt").is_dir()


def test_folders_the_run_had_to_make_go_again_when_it_left_them_empty(tmp_path: Path) -> None:
    """A run that failed before its first save leaves the tree as it found it (its lock made `runs/ckpt`)."""
    hook = started(tmp_path / "runs" / "ckpt", None)
    assert (tmp_path / "runs" / "ckpt").is_dir()
    hook.close()
    assert list(tmp_path.iterdir()) == []
