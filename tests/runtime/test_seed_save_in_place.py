"""The seed's ``SaveCheckpoint`` swaps its folder in whole, yet keeps what else lives there, as the seed does.

RoboOrchard Lab saves into ``save_root`` in place: ``SaveModel``'s exports in the
same folder, or a user's notes, survive every save. hookpipe writes
``<save_root>.partial`` and swaps it in (``checkpoints/in_place.py``); these tests
hold it to the seed's outcome, including after a kill at each point of the swap.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookpipe.runtime.checkpoints.in_place import foreign_entries, swap_in
from hookpipe.runtime.checkpoints.resume import MARKER, checkpoint_problem, read_marker, swap_folders, write_marker
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=8, max_step=6, seed=0, progress=False) + """\
hook optimize = optimizer()
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "out", save_step_freq = 2, save_epoch_freq = none)
hook export   = "hookpipe.runtime.SaveModelConfig"(save_root = "out", save_step_freq = 2, save_epoch_freq = none)
loop {
    epoch { step { after { optimize -> export -> save } } }
    after { save }
}
"""


def test_save_model_exports_in_the_checkpoint_folder_survive_every_save(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "seed.pipe").write_text(PIPE)
    assert run_file("seed.pipe", [], None) == 0
    out = tmp_path / "out"
    # saves after steps 2, 4 and 6: each export was made before the save that swapped the folder
    assert sorted(p.name for p in out.glob("model_epoch_*")) == [
        "model_epoch_0_step_1", "model_epoch_0_step_3", "model_epoch_1_step_1"]
    assert all((p / "0" / "model.safetensors").is_file() for p in out.glob("model_epoch_*"))
    assert read_marker(out)["completed_steps"] == 6  # type: ignore[index]
    assert checkpoint_problem(out) is None
    assert not any(n for n in (out.with_name("out.old"), out.with_name("out.partial")) if n.exists())


def _checkpoint(folder: Path, payload: str, *, marker: bool = True) -> Path:
    folder.mkdir()
    (folder / "model.safetensors").write_text(payload)
    (folder / "model").mkdir()
    (folder / "model" / "weights.bin").write_text(payload)
    if marker:
        write_marker(folder, completed_steps=len(payload), epoch_id=0)
    return folder


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path, Path]:
    """``save_root`` holding a checkpoint with a marker, two foreign entries, and a new complete ``.partial``."""
    final, partial, old = swap_folders(tmp_path / "ckpt")
    _checkpoint(final, "old")
    (final / "model_epoch_0_step_1").mkdir()
    (final / "model_epoch_0_step_1" / "w").write_text("export")
    (final / "notes.txt").write_text("mine")
    _checkpoint(partial, "newer")
    return final, partial, old


def _contents(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def _expect_new_with_foreign(final: Path, old: Path, partial: Path) -> None:
    got = _contents(final)
    assert got["model.safetensors"] == "newer" and got["model/weights.bin"] == "newer"
    assert got["model_epoch_0_step_1/w"] == "export" and got["notes.txt"] == "mine"
    assert read_marker(final)["completed_steps"] == 5 and checkpoint_problem(final) is None  # type: ignore[index]
    assert not old.exists() and not partial.exists()


def test_a_swap_carries_the_foreign_entries_and_drops_the_previous_checkpoint(
        places: tuple[Path, Path, Path]) -> None:
    final, partial, old = places
    assert [p.name for p in foreign_entries(final, partial)] == ["model_epoch_0_step_1", "notes.txt"]
    swap_in(partial, final, old)
    _expect_new_with_foreign(final, old, partial)
    assert set(_contents(final)) == {"model.safetensors", "model/weights.bin", MARKER, "model_epoch_0_step_1/w",
                                     "notes.txt"}


def test_killed_after_the_previous_folder_moved_aside_the_next_swap_restores_it_first(
        places: tuple[Path, Path, Path]) -> None:
    final, partial, old = places
    os.replace(final, old)  # killed here: only <save_root>.old and the new .partial
    swap_in(partial, final, old)
    _expect_new_with_foreign(final, old, partial)


def test_killed_while_carrying_the_next_swap_carries_the_rest(places: tuple[Path, Path, Path],
                                                              tmp_path: Path) -> None:
    final, partial, old = places
    os.replace(final, old)
    os.replace(partial, final)
    os.replace(old / "notes.txt", final / "notes.txt")  # killed after carrying one of the two
    assert read_marker(final)["completed_steps"] == 5  # type: ignore[index]  # the new one is in place
    # the next save: a newer .partial, then the swap settles the interrupted one first
    _checkpoint(partial, "newest")
    swap_in(partial, final, old)
    got = _contents(final)
    assert got["model.safetensors"] == "newest" and got["model_epoch_0_step_1/w"] == "export"
    assert got["notes.txt"] == "mine" and not old.exists()


def test_a_folder_without_a_marker_keeps_every_entry_the_new_checkpoint_does_not_write(tmp_path: Path) -> None:
    final, partial, old = swap_folders(tmp_path / "ckpt")
    _checkpoint(final, "seed", marker=False)  # as RoboOrchard Lab writes it
    (final / "scheduler.bin").write_text("seed")  # the seed's save would leave it too
    (final / "model_epoch_0_step_1").mkdir()
    _checkpoint(partial, "newer")
    swap_in(partial, final, old)
    assert sorted(p.name for p in final.iterdir()) == [
        MARKER, "model", "model.safetensors", "model_epoch_0_step_1", "scheduler.bin"]
    assert (final / "model.safetensors").read_text() == "newer" and not old.exists()


def test_the_first_save_swaps_in_where_nothing_was(tmp_path: Path) -> None:
    final, partial, old = swap_folders(tmp_path / "ckpt")
    _checkpoint(partial, "first")
    swap_in(partial, final, old)
    assert (final / "model.safetensors").read_text() == "first" and not partial.exists() and not old.exists()


def test_a_lock_a_killed_run_left_alone_in_save_root_is_no_checkpoint_and_no_use(tmp_path: Path) -> None:
    """A run killed before its first save leaves ``save_root`` holding its lock alone."""
    import json
    import socket

    from hookpipe.runtime.checkpoints.resume import in_place_verified
    from hookpipe.runtime.checkpoints.versions import choose_place
    from hookpipe.runtime.run_lock import LOCK_NAME

    root = tmp_path / "ckpt"
    root.mkdir()
    dead = {"host": socket.gethostname(), "pid": 2 ** 22 + 1, "started": 0, "token": "t"}  # above pid_max
    (root / LOCK_NAME).write_text(json.dumps(dead))
    assert in_place_verified(root) == (None, [])  # nothing to skip, nothing to say
    assert choose_place(None, None, None, in_place=[root]).version is None  # the next run writes there
    (root / LOCK_NAME).write_text(json.dumps({**dead, "host": "elsewhere"}))
    assert choose_place(None, None, None, in_place=[root]).version == 1  # one that may be live: beside it


def test_a_save_root_that_links_to_another_disk_keeps_the_link_and_saves_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "seed.pipe").write_text(PIPE.replace('hook export', '# hook export').replace(" -> export", ""))
    scratch = tmp_path / "scratch" / "out"
    scratch.mkdir(parents=True)
    (tmp_path / "out").symlink_to(scratch, target_is_directory=True)
    assert run_file("seed.pipe", [], None) == 0
    assert "; checkpoint out\n" in capsys.readouterr().out  # the name the file gives
    assert (tmp_path / "out").is_symlink() and os.readlink(tmp_path / "out") == str(scratch)
    assert read_marker(scratch)["completed_steps"] == 6 and checkpoint_problem(scratch) is None  # type: ignore[index]
    assert sorted(p.name for p in scratch.parent.iterdir()) == ["out"]  # no .partial or .old left beside it


def test_a_file_where_the_folder_should_be_is_refused_and_kept(tmp_path: Path) -> None:
    final, partial, old = swap_folders(tmp_path / "ckpt")
    final.write_text("my notes")
    _checkpoint(partial, "first")
    with pytest.raises(NotADirectoryError, match="is not a folder .* give the hook another save_root"):
        swap_in(partial, final, old)
    assert final.read_text() == "my notes" and (partial / "model.safetensors").is_file()


def test_a_run_that_fails_before_training_leaves_no_empty_folders(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The run took the locks of runs/ckpt and runs/models (making them), then its model factory failed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    text = PIPE.replace('save_root = "out"', 'save_root = "runs/ckpt"', 1).replace(
        'save_root = "out"', 'save_root = "runs/models"').replace("h.tiny_model()", "h.tiny_model(dropout = 2.0)")
    assert "runs/models" in text and "dropout = 2.0" in text
    (tmp_path / "seed.pipe").write_text(text)
    (tmp_path / "keep").mkdir()
    assert run_file("seed.pipe", [], None) == 1
    err = capsys.readouterr().err
    assert 'raise ValueError(' in err  # the factory's traceback, then one line naming the setting and the call
    assert err.splitlines()[-1] == (
        "hookpipe run: seed.pipe:5:5: trainer.model: calling tests.runtime.hooklib:tiny_model(dropout=2.0) failed: "
        "ValueError: dropout probability has to be between 0 and 1, but got 2.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep", "pyproject.toml", "seed.pipe"]
