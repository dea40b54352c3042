"""RoboOrchard Lab's own kinds of programs on hookpipe, against the real RoboOrchard Lab 0.4.0.

Each program in :mod:`tests.compat.programs` runs unchanged (only its imports
differ) in RoboOrchard Lab's venv and in hookpipe's, and the results are compared:
losses and parameters bit for bit, every log record (name, level, text), the files
written, the printed hook tree, the calls a patched hook-module ``logger`` sees,
and the parameters of every public method of the seed's hooks and trainers.
Checkpoints resume across the two venvs, which differ in numpy (1 there, 2 here),
with a dropout model, so the RNG state must come through for the losses to match.
The differences allowed are the documented ones (``docs/compat.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.compat.peer import run_script

pytestmark = pytest.mark.slow

PROGRAMS = Path(__file__).with_name("programs.py")
HOOKPIPE_FILES = {"hookpipe-progress.json", "hookpipe-checkpoint.json"}
#: ``%(filename)s`` where it is not the seed's (docs/compat.md): the trainers' own lines.
OUR_FILES = {"robo_orchard_lab.pipeline.hook_based_trainer": "training_loop.py",
             "robo_orchard_lab.pipeline.trainer": "simple_trainer.py"}


def run(impl: str, program: str, out: Path, resume: Path | None = None) -> dict[str, Any]:
    return run_script(PROGRAMS, impl, ["--program", program], out, resume)


def _files_match(seed: list[str], ours: list[str]) -> None:
    assert set(seed) <= set(ours)
    assert {Path(f).name for f in set(ours) - set(seed)} <= HOOKPIPE_FILES


def _logs_match(seed: list[list[str]], ours: list[list[str]]) -> None:
    """Same records; each from the seed's file name, but the trainer's own lines (docs/compat.md).

    accelerate's own lines name the folder it writes: ``<save_root>.partial`` here,
    swapped in when complete (docs/compat.md, "SaveCheckpoint with a fixed save_root").
    """
    assert [[n, lvl, text.replace("ckpt.partial/", "ckpt/")] for n, lvl, text, _ in ours] == [r[:3] for r in seed]
    for (name, _, _, theirs), (_, _, _, mine) in zip(seed, ours):
        expected = OUR_FILES.get(name, theirs)
        assert mine == expected, (name, theirs, mine)


def test_a_project_script_on_simple_trainer_runs_as_on_the_seed(tmp_path: Path) -> None:
    seed = run("seed", "project", tmp_path / "seed")
    ours = run("hookpipe", "project", tmp_path / "hookpipe")
    assert ours["losses"] == seed["losses"] and len(seed["losses"]) == 12  # dropout: the same draws
    assert ours["params"] == seed["params"]
    assert ours["evaluations"] == seed["evaluations"] and len(seed["evaluations"]) == 3  # SimpleTrainer.eval
    assert ours["warnings"] == seed["warnings"] == [[
        "DeprecationWarning",
        "Call to deprecated class SimpleTrainer. (This class is deprecated. Use `HookBasedTrainer` instead.) "
        "-- Deprecated since version 0.2.0.",
    ]]
    _files_match(seed["files"], ours["files"])
    _logs_match(seed["logs"], ours["logs"])
    assert any("Save checkpoint at the end of step 7" in r[2] for r in ours["logs"])


def test_the_tutorial_pattern_runs_as_on_the_seed(tmp_path: Path) -> None:
    seed = run("seed", "tutorial", tmp_path / "seed")
    ours = run("hookpipe", "tutorial", tmp_path / "hookpipe")
    assert ours["losses"] == seed["losses"] and len(seed["losses"]) == 12
    assert ours["params"] == seed["params"]
    # The ValidationHook subclass's evaluate(hook_args) is what runs: at the start, then every 5th step.
    assert ours["evaluated"] == seed["evaluated"] == [[0, 0], [1, 4], [2, 9]]
    # print(trainer.hooks): the seed's tree, line for line (ids, addresses and source lines aside).
    assert ours["hook_tree"] == seed["hook_tree"]
    assert len(seed["hook_tree"]) > 60 and any("ValidationHook" not in line and "_on_step_end" in line
                                               for line in seed["hook_tree"])
    _files_match(seed["files"], ours["files"])
    _logs_match(seed["logs"], ours["logs"])
    assert sum(r[0] == "tutorial" for r in ours["logs"]) == 6 + 3  # 3 epochs begun and ended, 3 evaluations


def test_patching_a_hook_modules_logger_sees_the_seeds_calls(tmp_path: Path) -> None:
    seed = run("seed", "loggers", tmp_path / "seed")
    ours = run("hookpipe", "loggers", tmp_path / "hookpipe")
    assert ours["calls"] == seed["calls"]
    assert len(seed["calls"]["checkpoint"]) == 5 and len(seed["calls"]["stats"]) == 3
    # StatsMonitor._estimate_remaining_time, as the seed's own test calls it.
    assert seed["calls"]["remaining"] == ["1898.0", "8.0", "0.0", "None", "8.0", "0.0"]


#: hookpipe's additions to the seed's signatures, each documented in docs/compat.md.
ADDED = {
    "optimizer.OptimizerHook.__init__": "cfg defaults to None",
    "mixin.PipelineHookArgs.__init__": "the run field",
}


def test_every_public_method_has_the_seeds_parameters(tmp_path: Path) -> None:
    seed = run("seed", "surface", tmp_path / "seed")["surface"]
    ours = run("hookpipe", "surface", tmp_path / "hookpipe")["surface"]
    assert len(seed) > 80
    missing = sorted(set(seed) - set(ours))
    assert not missing
    differing = {name for name in seed if ours[name] != seed[name]}
    assert differing == set(ADDED)
    assert ours["validation.ValidationHook.evaluate"] == [["self", "POSITIONAL_OR_KEYWORD", ""],
                                                          ["hook_args", "POSITIONAL_OR_KEYWORD", ""]]
    opt, args = "optimizer.OptimizerHook.__init__", "mixin.PipelineHookArgs.__init__"
    assert [p[:2] for p in ours[opt]] == [p[:2] for p in seed[opt]]
    assert ours[args][: len(seed[args])] == seed[args] and [p[0] for p in ours[args][len(seed[args]):]] == ["run"]


def test_checkpoints_resume_across_numpy_1_and_2_with_their_random_state(tmp_path: Path) -> None:
    """Dropout draws from torch's generator: the losses after a resume match only if the RNG file loaded."""
    run("hookpipe", "project", tmp_path / "ours")  # numpy 2; SaveCheckpoint after the 8th of 12 steps
    run("seed", "project", tmp_path / "theirs")  # numpy 1
    ours_ckpt, theirs_ckpt = tmp_path / "ours" / "save" / "ckpt", tmp_path / "theirs" / "save" / "ckpt"
    # numpy 2 -> numpy 1: RoboOrchard Lab resumes hookpipe's checkpoint as it resumes its own.
    seed_from_ours = run("seed", "project", tmp_path / "a", resume=ours_ckpt)
    seed_from_theirs = run("seed", "project", tmp_path / "b", resume=theirs_ckpt)
    # The seed's resume trains the saved step's epoch again from its first batch: 6 steps.
    assert seed_from_ours["losses"] == seed_from_theirs["losses"] and len(seed_from_ours["losses"]) == 6
    assert seed_from_ours["params"] == seed_from_theirs["params"]
    for result in (seed_from_ours, seed_from_theirs):
        messages = " | ".join(r[2] for r in result["logs"] if r[0] == "accelerate.checkpointing")
        assert "All random states loaded successfully" in messages
        assert "Could not load random states" not in messages
    # numpy 1 -> numpy 2: hookpipe resumes the seed's checkpoint as it resumes its own.
    ours_from_theirs = run("hookpipe", "project", tmp_path / "c", resume=theirs_ckpt)
    ours_from_ours = run("hookpipe", "project", tmp_path / "d", resume=ours_ckpt)
    assert ours_from_theirs["losses"] == ours_from_ours["losses"] and len(ours_from_ours["losses"]) == 4
    assert ours_from_theirs["params"] == ours_from_ours["params"]
    straight = run("hookpipe", "project", tmp_path / "e")
    assert ours_from_ours["losses"] == straight["losses"][8:]  # and the run is the uninterrupted one


def test_a_random_state_that_cannot_be_restored_is_a_warning_naming_the_file(tmp_path: Path) -> None:
    run("hookpipe", "project", tmp_path / "ours")
    ckpt = tmp_path / "ours" / "save" / "ckpt"
    rng = ckpt / "random_states_0.pkl"
    states = torch.load(rng, weights_only=True)
    assert isinstance(states["numpy_random_seed"][1], list)  # the portable form numpy 1 reads
    del states["torch_manual_seed"]
    torch.save(states, rng)
    resumed = run("hookpipe", "project", tmp_path / "resumed", resume=ckpt)
    warned = [r for r in resumed["logs"] if r[1] == "WARNING" and str(rng) in r[2]]
    assert len(warned) == 1 and "it has no 'torch_manual_seed' entry" in warned[0][2]
    assert warned[0][0] == "hookpipe.runtime.checkpoints.checkpoint_state"
