"""Damaged checkpoints: verified against their marker, skipped by --resume latest, refused by --resume DIR."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import xxhash

from hookpipe.runtime.checkpoints.checkpoint_files import manifest
from hookpipe.runtime.checkpoints.resume import MARKER, checkpoint_problem
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import digits_plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A plan file whose checkpoint folder holds step-4 and step-8 (digits, saved at the end of each run)."""
    monkeypatch.chdir(ROOT)
    plan_file = tmp_path / "digits.json"
    plan_file.write_text(digits_plan(str(tmp_path / "ckpt")).to_json(), encoding="utf-8")
    assert run_file(str(plan_file), ["trainer.max_step=4"], None) == 0
    assert run_file(str(plan_file), ["trainer.max_step=8"], "latest") == 0
    capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["step-00000004", "step-00000008"]
    return plan_file


def newest(plan_file: Path) -> Path:
    return plan_file.parent / "ckpt" / "step-00000008"


def reseal(folder: Path) -> None:
    """What an attacker who rewrites the marker too would do: the checksums match again."""
    marker = json.loads((folder / MARKER).read_text())
    marker["files"] = manifest(folder, MARKER)
    (folder / MARKER).write_text(json.dumps(marker))


def test_the_marker_lists_every_file_with_size_and_checksum(two_checkpoints: Path) -> None:
    marker = json.loads((newest(two_checkpoints) / MARKER).read_text())
    files = marker["files"]
    assert {"model.safetensors", "random_states_0.pkl", "hookpipe-state-0.json"} <= set(files)
    weights = (newest(two_checkpoints) / "model.safetensors").read_bytes()
    assert files["model.safetensors"] == {"size": len(weights), "xxh3_128": xxhash.xxh3_128(weights).hexdigest()}


def test_a_marker_written_with_sha256_still_verifies_and_still_catches_damage(two_checkpoints: Path) -> None:
    """Checkpoints written before the switch to XXH3 list SHA-256 checksums: verified with SHA-256."""
    folder = newest(two_checkpoints)
    marker = json.loads((folder / MARKER).read_text())
    marker["files"] = {name: {"size": (folder / name).stat().st_size,
                              "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
                       for name in marker["files"]}
    (folder / MARKER).write_text(json.dumps(marker))
    assert checkpoint_problem(folder) is None
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert checkpoint_problem(folder) == "model.safetensors does not match its checksum (altered or corrupt)"


def test_an_entry_without_a_checksum_is_malformed(two_checkpoints: Path) -> None:
    folder = newest(two_checkpoints)
    marker = json.loads((folder / MARKER).read_text())
    marker["files"]["model.safetensors"] = {"size": marker["files"]["model.safetensors"]["size"]}
    (folder / MARKER).write_text(json.dumps(marker))
    problem = checkpoint_problem(folder)
    assert problem is not None and "'model.safetensors' is malformed" in problem


@pytest.mark.parametrize("damage, reason", [
    ("truncate", "model.safetensors is {half:,} bytes, the marker records {size:,} (truncated or replaced)"),
    ("empty", "model.safetensors is 0 bytes, the marker records {size:,} (truncated or replaced)"),
    ("missing", "model.safetensors is missing"),
    ("flip", "model.safetensors does not match its checksum (altered or corrupt)"),
])
def test_resume_latest_falls_back_to_the_newest_intact_checkpoint(
        two_checkpoints: Path, capsys: pytest.CaptureFixture[str], damage: str, reason: str) -> None:
    weights = newest(two_checkpoints) / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        weights.write_bytes(b"")
    elif damage == "missing":
        weights.unlink()
    else:
        weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert run_file(str(two_checkpoints), ["trainer.max_step=10"], "latest") == 0
    err = capsys.readouterr().err
    expected = reason.format(half=len(data) // 2, size=len(data))
    assert f"--resume latest: skipping {newest(two_checkpoints)}: {expected}" in err, err
    assert "Traceback" not in err


def test_resume_dir_of_a_damaged_checkpoint_is_a_clear_error(two_checkpoints: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    (newest(two_checkpoints) / "optimizer.bin").write_bytes(b"")
    assert run_file(str(two_checkpoints), ["trainer.max_step=10"], str(newest(two_checkpoints))) == 1
    err = capsys.readouterr().err
    assert f"--resume {newest(two_checkpoints)}: the checkpoint is damaged: optimizer.bin is 0 bytes" in err, err
    assert "Traceback" not in err


def test_a_plain_accelerate_folder_with_a_truncated_file_is_a_clear_error(
        two_checkpoints: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = newest(two_checkpoints)
    (folder / MARKER).unlink()  # a seed-style save_state folder: nothing to verify against
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert run_file(str(two_checkpoints), ["trainer.max_step=10"], str(folder)) == 1
    err = capsys.readouterr().err
    assert f"cannot load checkpoint {folder}:" in err and "the checkpoint is damaged" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("edit, message", [
    (("progress", "step_id", -5), "`progress.step_id` must be an integer from 0 to 9223372036854775807, not -5"),
    (("progress", "global_step_id", 10**30), "`progress.global_step_id` must be an integer from 0 to"),
    (("progress", "epoch_id", "0"), "`progress.epoch_id` must be an integer from 0 to 9223372036854775807, not '0'"),
    (("cursor", "scope", "nowhere"), "`cursor.scope` must be step, epoch or loop, not 'nowhere'"),
    (("cursor", "ids", [1, 2]), "`cursor.ids` must be three non-negative integers, not [1, 2]"),
    ((None, "trace", -1), "`trace` must be a non-negative integer or null, not -1"),
])
def test_tampered_progress_state_is_refused(two_checkpoints: Path, capsys: pytest.CaptureFixture[str],
                                            edit: tuple[object, str, object], message: str) -> None:
    folder = newest(two_checkpoints)
    path = folder / "hookpipe-state-0.json"
    state = json.loads(path.read_text())
    table, key, value = edit
    (state[table] if table else state)[key] = value  # type: ignore[index]
    path.write_text(json.dumps(state))
    reseal(folder)
    assert run_file(str(two_checkpoints), ["trainer.max_step=10"], str(folder)) == 1
    err = capsys.readouterr().err
    assert f"{path}: the checkpoint state is invalid: {message}" in err, err
    assert "Traceback" not in err


def test_a_corrupt_rng_state_is_not_silently_ignored(two_checkpoints: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = newest(two_checkpoints)
    (folder / "random_states_0.pkl").write_bytes(b"not a pickle at all")
    reseal(folder)
    assert run_file(str(two_checkpoints), ["trainer.max_step=10"], str(folder)) == 1
    err = capsys.readouterr().err
    assert f"checkpoint {folder}: the random state random_states_0.pkl is corrupt" in err, err
    shutil.rmtree(folder)  # and with the folder gone, latest resumes from step 4
    assert run_file(str(two_checkpoints), ["trainer.max_step=6"], "latest") == 0
