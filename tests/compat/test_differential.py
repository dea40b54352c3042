"""hookpipe against the real RoboOrchard Lab 0.4.0, on one scenario run unchanged by both.

Compared: the loss of every step, the parameters at the end, every hook call with
its ids, the files written, the metric and loss log lines and the trainer's own
log lines. The differences are the documented ones (``docs/compat.md``):
``hookpipe-progress.json`` and the marker ``hookpipe-checkpoint.json`` beside the
seed's files, and validation at a step end
only on its step frequency (the seed also evaluates at every step end when the
*epoch* frequency divides the epoch).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compat.peer import run

pytestmark = pytest.mark.slow

HOOKPIPE_ONLY_FILES = {"ckpt/hookpipe-progress.json", "ckpt/hookpipe-checkpoint.json"}


def _hookpipe_points(max_step: int, steps_per_epoch: int) -> list[int]:
    """Steps done when hookpipe evaluates: at the start, after each epoch, then after every 3rd step.

    (Validation runs before the recording hook, so a step end reports the steps before it.)
    """
    points = [0]
    for g in range(max_step):
        if g % steps_per_epoch == 0 and g > 0:
            points.append(g)  # the previous epoch's end
        if (g + 1) % 3 == 0:
            points.append(g)
    return points + [max_step]


@pytest.mark.parametrize("case", ["train", "accumulate", "empty"])
def test_a_training_run_matches_the_seed(case: str, tmp_path: Path) -> None:
    seed = run("seed", case, tmp_path / "seed")
    ours = run("hookpipe", case, tmp_path / "hookpipe")
    assert ours["losses"] == seed["losses"]  # bit for bit
    assert ours["params"] == seed["params"]
    assert ours["calls"] == seed["calls"]
    assert ours["progress"] == seed["progress"]
    assert set(ours["files"]) - set(seed["files"]) == (HOOKPIPE_ONLY_FILES if case != "empty" or seed["files"] else set())
    assert set(seed["files"]) <= set(ours["files"])
    assert ours["logs"] == seed["logs"]
    if case == "train":
        assert [int(done) for done, _ in ours["validations"]] == _hookpipe_points(10, 5)
        seed_values = {tuple(v) for v in seed["validations"]}
        assert all(tuple(v) in seed_values for v in ours["validations"])  # the same model states
        assert len(seed["validations"]) == 13  # and the seed's extra: every step end, for epoch_eval_freq = 1
    elif case == "empty":  # no steps: the start and both epoch ends
        assert ours["validations"] == seed["validations"] and len(ours["validations"]) == 3


def test_a_seed_checkpoint_resumes_in_hookpipe_at_the_next_batch(tmp_path: Path) -> None:
    run("seed", "write", tmp_path / "seed")  # 6 steps, a SaveCheckpoint after the 6th
    resumed = run("hookpipe", "resume", tmp_path / "resumed", resume=tmp_path / "seed" / "save" / "ckpt")
    straight = run("hookpipe", "straight", tmp_path / "straight")  # the same 10 steps, uninterrupted
    assert resumed["params"] == straight["params"]
    assert resumed["losses"] == straight["losses"][6:]
    steps = [c[2:] for c in resumed["calls"] if c[0] == "on_step" and c[1] == "begin"]
    assert steps[0] == [1, 1, 6] and steps[-1] == [1, 4, 9] and len(steps) == 4
    assert any("Start training loop from epoch 1 and step 1" in msg for _, _, msg in resumed["logs"])


def test_a_hookpipe_checkpoint_resumes_in_the_seed_as_its_own_does(tmp_path: Path) -> None:
    run("hookpipe", "write", tmp_path / "ours")
    run("seed", "write", tmp_path / "theirs")
    from_ours = run("seed", "resume", tmp_path / "a", resume=tmp_path / "ours" / "save" / "ckpt")
    from_theirs = run("seed", "resume", tmp_path / "b", resume=tmp_path / "theirs" / "save" / "ckpt")
    assert from_ours["params"] == from_theirs["params"]
    assert from_ours["losses"] == from_theirs["losses"]
    assert from_ours["calls"] == from_theirs["calls"]
    # The seed's own resume: the ids of the step that wrote the checkpoint, the epoch from its first batch.
    assert from_ours["calls"][0] == ["on_loop", "begin", 1, 0, 5]


def test_hookpipe_resumes_its_checkpoint_as_the_seed_does_when_asked(tmp_path: Path) -> None:
    run("seed", "write", tmp_path / "theirs")
    seed = run("seed", "resume", tmp_path / "a", resume=tmp_path / "theirs" / "save" / "ckpt")
    ours = run("hookpipe", "seed-resume", tmp_path / "b", resume=tmp_path / "theirs" / "save" / "ckpt")
    assert ours["params"] == seed["params"] and ours["losses"] == seed["losses"] and ours["calls"] == seed["calls"]
