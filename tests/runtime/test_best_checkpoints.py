"""``checkpoint(monitor, mode, keep_best)``: ranked checkpoints kept beside keep_last, a `best` link, --resume best."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.errors import CompileError
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.checkpoints.best import best_checkpoint
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.run import resolve_resume
from tests.runtime.planbuild import tiny_trainer_text

PIPE = """pipeline "best"
use h = "tests.runtime.hooklib"

""" + tiny_trainer_text(n=10, lr="LR", max_epoch=6, seed=0, cpu=True, progress=False) + """
hook optimize = optimizer()
hook evaluate = validation(callback = h.held_out_error)
hook save     = checkpoint(dir = "DIR", keep_last = 1, monitor = "evaluate.mse", mode = "MODE", keep_best = 2)

loop {
    epoch {
        step {
            after { optimize }
        }
        after {
            evaluate
            save
        }
    }
}
"""


def train(tmp_path: Path, mode: str = "min", lr: str = "0.01") -> tuple[HookBasedTrainer, Path]:
    folder = tmp_path / "ckpt"
    text = PIPE.replace("DIR", str(folder)).replace("MODE", mode).replace("LR", lr)
    trainer = HookBasedTrainer.from_plan(compile_text(text, "best.pipe"))
    trainer()
    return trainer, folder


def scores(trainer: HookBasedTrainer) -> dict[int, float]:
    return {done: m["mse"] for done, m in trainer.hook_instances["evaluate"].history}


@pytest.mark.parametrize("mode", ["min", "max"])
def test_keeps_the_last_and_the_best_two_and_points_at_the_best(tmp_path: Path, mode: str) -> None:
    trainer, folder = train(tmp_path, mode)
    by_step = scores(trainer)
    assert sorted(by_step) == [5, 10, 15, 20, 25, 30]
    ranked = sorted(by_step, key=lambda s: (by_step[s] if mode == "min" else -by_step[s], s))
    kept = {f"step-{s:08d}" for s in {30, *ranked[:2]}}
    assert {p.name for p in folder.glob("step-*")} == kept
    best = folder / f"step-{ranked[0]:08d}"
    assert (folder / "best").is_symlink() and (folder / "best").resolve() == best.resolve()
    assert best_checkpoint(folder) == best
    marker = json.loads((best / "hookpipe-checkpoint.json").read_text())
    assert marker["monitor"] == {"name": "evaluate.mse", "mode": mode, "value": by_step[ranked[0]]}
    assert resolve_resume(trainer.plan, "best") == str(best)


def test_resume_best_restores_the_best_checkpoint(tmp_path: Path) -> None:
    trainer, folder = train(tmp_path)
    best = best_checkpoint(folder)
    from hookpipe.runtime import ResumeCheckpointConfig

    resumed = HookBasedTrainer.from_plan(trainer.plan, resume_from=ResumeCheckpointConfig(resume_from=str(best)))
    assert resumed.trainer_progress_state.global_step_id == int(best.name.removeprefix("step-"))


def test_resume_best_verifies_like_latest_and_falls_back_to_the_next_best_intact(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trainer, folder = train(tmp_path)
    by_step = scores(trainer)
    first, second = sorted(by_step, key=lambda s: (by_step[s], s))[:2]
    best, runner_up = folder / f"step-{first:08d}", folder / f"step-{second:08d}"
    marker = json.loads((best / "hookpipe-checkpoint.json").read_text())
    assert "model.safetensors" in marker["files"]  # the monitor sits beside issue 11's checksums
    weights = best / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert resolve_resume(trainer.plan, "best") == str(runner_up)
    err = capsys.readouterr().err
    assert f"--resume best: skipping {best}: model.safetensors does not match its checksum" in err, err
    for other in folder.glob("step-*"):
        if other != best:
            (other / "model.safetensors").unlink()
    with pytest.raises(PlanResolveError, match=r"--resume best: no ranked checkpoint \(by evaluate.mse\)"):
        resolve_resume(trainer.plan, "best")


def test_resume_best_without_a_monitor_says_so(tmp_path: Path) -> None:
    text = PIPE.replace(', monitor = "evaluate.mse", mode = "MODE", keep_best = 2', "").replace("DIR", str(tmp_path)).replace("LR", "0.01")
    with pytest.raises(PlanResolveError, match="--resume best: best.pipe has no checkpoint hook with a monitor"):
        resolve_resume(compile_text(text, "best.pipe"), "best")


def test_keep_best_without_monitor_and_an_unknown_monitor_are_compile_errors() -> None:
    base = PIPE.replace("DIR", "c").replace("LR", "0.01").replace("MODE", "min")
    with pytest.raises(CompileError) as err:
        compile_text(base.replace('monitor = "evaluate.mse", ', ""), "best.pipe")
    assert [(d.code, d.span.line) for d in err.value.diagnostics] == [("HP003", 17)]
    assert "keep_best needs monitor" in err.value.diagnostics[0].message
    with pytest.raises(CompileError) as err:
        compile_text(base.replace('"evaluate.mse"', '"evaluat.mse"'), "best.pipe")
    (diag,) = err.value.diagnostics
    assert diag.code == "HP002" and "no hook `evaluat`" in diag.message and "evaluate" in (diag.help or "")
