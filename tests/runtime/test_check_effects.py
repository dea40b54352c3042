"""``--check-effects``: an undeclared write stops the run, naming hook, resource and line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState

from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import digits_plan, tiny_trainer_text

PIPE = """use h = "tests.runtime.hooklib"
""" + tiny_trainer_text(n=8, max_step=6) + """\
hook norms    = h.SneakyNormLogger() {
    reads grads
}
hook optimize = optimizer()
loop { epoch { step { after {
    norms -> optimize
} } } }
"""


def test_a_hook_that_clips_while_declaring_reads_grads_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    pipe = tmp_path / "sneaky.pipe"
    pipe.write_text(PIPE)
    assert run_file(str(pipe), [], None, check_effects=True) == 1
    err = capsys.readouterr().err
    assert "hook 'norms' wrote `grads` in on_step_end but declares only reads grads" in err
    assert f"in step 1 ({pipe}:14)" in err
    # Unchecked, the same file trains (the write goes unnoticed: why the flag exists).
    assert run_file(str(pipe), [], None) == 0


def test_the_digits_example_passes_and_the_overhead_is_measured(tmp_path: Path) -> None:
    timings, finals = {}, {}
    for checked in (False, True):
        trainer = HookBasedTrainer.from_plan(digits_plan(str(tmp_path / f"ck{checked}")), check_effects=checked, max_step=40)
        started = time.perf_counter()
        trainer()
        timings[checked] = time.perf_counter() - started
        finals[checked] = [p.detach().clone() for p in trainer.model.parameters()]
        AcceleratorState._reset_state(True)
        GradientState._reset_state()
    print(f"digits, 40 steps: unchecked {timings[False]:.3f} s, --check-effects {timings[True]:.3f} s")
    # Every built-in and the example's custom hook keep to their declarations, and checking changes nothing.
    assert all(torch.equal(a, b) for a, b in zip(finals[False], finals[True]))
