"""``lr_plateau``: what ``check --resolve`` accepts, ``run`` drives; ReduceLROnPlateau as lr_scheduler is refused.

The validation callback's loss improves twice, then stays flat; ``lr_plateau``
with ``patience = 2`` and ``factor = 0.5`` must halve the lr after the third flat
result (ReduceLROnPlateau's rule: more than ``patience`` in a row) (``runlib.LearningRates`` reads the lr each
update uses). A run resumed from a checkpoint in between lowers it at the same
updates as the uninterrupted run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hookpipe.compiler.catalog import BUILTINS
from tests.helpers import ROOT, launch_env
from tests.runtime.planbuild import tiny_trainer_text

pytestmark = pytest.mark.slow

# 8 samples in batches of 2: 4 steps (and updates) per epoch; validated after each epoch.
PIPE = """use h = "tests.runtime.hooklib"
use t = "tests.runtime.trackinglib"
use r = "tests.runtime.runlib"
""" + tiny_trainer_text(n=8, lr=0.1, max_epoch=8, seed=0, progress=False, lr_scheduler="SCHEDULER") + """\
hook optimize = optimizer()
hook lrs      = r.LearningRates(path = "LRS")
hook evaluate = validation(callback = t.plateau(improving = 2))
HOOKS
loop {
    epoch {
        step { after { lrs -> optimize } }
        after { ATTACH }
    }
}
"""

PLATEAU = '''hook plateau  = lr_plateau(monitor = "evaluate.loss", mode = "min", factor = 0.5, patience = 2)
hook save     = checkpoint(dir = "CKPT")'''


def write(tmp: Path, scheduler: str = "", hooks: str = PLATEAU, attach: str = "evaluate -> plateau -> save") -> Path:
    lines = [line for line in PIPE.split("\n") if "SCHEDULER" not in line or scheduler]
    text = "\n".join(lines).replace("SCHEDULER", scheduler).replace("HOOKS", hooks).replace("ATTACH", attach)
    path = tmp / "train.pipe"
    path.write_text(text.replace("LRS", str(tmp / "lrs")).replace("CKPT", str(tmp / "ckpt")), encoding="utf-8")
    return path


def hookpipe(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", *args], cwd=ROOT, env=launch_env(),
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def rates(path: Path) -> list[float]:
    return [float(x) for x in path.read_text().split()]


def test_reduce_lr_on_plateau_as_the_lr_scheduler_is_refused_before_the_first_step(tmp_path: Path) -> None:
    scheduler = '"torch.optim.lr_scheduler.ReduceLROnPlateau"(patience = 2)'
    path = write(tmp_path, scheduler, hooks="", attach="evaluate")
    message = ("trainer setting `lr_scheduler`: torch.optim.lr_scheduler.ReduceLROnPlateau.step() needs `metrics` "
               "(a monitored metric), but the optimizer hook steps the scheduler once per update with no argument")
    check = hookpipe("check", "--resolve", str(path))
    assert check.returncode == 1
    assert f"{path}:10:5: HP003 error: {message}" in check.stderr
    assert 'add `hook plateau = lr_plateau(monitor = "evaluate.loss"' in check.stdout + check.stderr
    run = hookpipe("run", str(path))
    assert run.returncode == 1
    assert message in run.stderr
    assert not (tmp_path / "lrs.0").exists()  # not one step ran


def test_lr_plateau_halves_the_lr_after_patience_flat_results_and_resumes_exactly(tmp_path: Path) -> None:
    path = write(tmp_path)
    assert hookpipe("check", "--resolve", str(path)).returncode == 0
    done = hookpipe("run", str(path))
    assert done.returncode == 0, done.stderr
    lrs = rates(tmp_path / "lrs.0")
    assert len(lrs) == 32
    per_epoch = [lrs[i] for i in range(0, 32, 4)]
    # Results 1, 2 improve; 3, 4, 5 are flat: the third flat one is more than patience (2): halved after epoch 5.
    assert per_epoch == [0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05]
    # From the checkpoint after epoch 3 (one flat result counted): the same lrs from there on.
    resumed = hookpipe("run", str(path), "--resume", str(tmp_path / "ckpt" / "step-00000012"),
                       "--set", f"hook.lrs.path={tmp_path / 'again'}")
    assert resumed.returncode == 0, resumed.stderr
    assert rates(tmp_path / "again.0") == lrs[12:]


def test_results_recorded_between_firings_each_step_the_scheduler() -> None:
    import torch

    from hookpipe.runtime.builtins.lr_plateau import LrPlateauHook

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    history = [(step, {"loss": 1.0}) for step in (4, 8, 12, 13)]
    hook = LrPlateauHook("evaluate.loss", factor=0.5, patience=1)
    hook.bind_trainer(SimpleNamespace(optimizer=optimizer, hook_instances={"evaluate": SimpleNamespace(history=history)}))
    hook.check(None)  # type: ignore[arg-type]  # one firing (an epoch's end) after four validations
    # The first result sets the best; the second and third are flat, more than patience (1): halved once.
    assert optimizer.param_groups[0]["lr"] == 0.05
    state = hook.state_dict()
    assert state["seen"] == 3 and state["last_epoch"] == 4 and state["num_bad_epochs"] == 1
    hook.check(None)  # type: ignore[arg-type]  # no new result: nothing counted twice
    assert hook.state_dict()["last_epoch"] == 4


def test_the_catalog_entry_is_what_the_editor_offers() -> None:
    from hookpipe.lsp.hover import describe_type

    entry = BUILTINS["lr_plateau"]
    assert entry.effects.reads == ("metrics",) and entry.effects.writes == ("lr",)
    text = describe_type(entry)
    assert "lr_plateau" in text and "patience" in text and "ReduceLROnPlateau" in text
