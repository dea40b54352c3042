"""``examples/ports/yolox``: MMDetection's YOLOX-s hooks (``until``, a validation scope, ``ema_swap``).

It needs the language's newer forms, like tests/test_import_new_forms.py. The run is
the config's own 300 epochs, on 64 digits (2 steps an epoch): validation must fire
exactly where MMEngine's loop validates (10, 20, ..., 280, then 284 to 300).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_cli, run_module

PORT = ROOT / "examples" / "ports" / "yolox"


def test_yolox_port_is_the_import_finished_where_it_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "imported.pipe"
    done = run_cli("import", "mmengine", "examples/ports/yolox/configs/yolox/yolox_s_8xb8-300e_coco.py",
                   "--module", "examples.ports.yolox.train", "-o", str(out))
    # the five the example finishes by hand, and the config's log_processor window_size 50 (log() records each
    # logged step's values, MMEngine a mean over the window), which the example leaves as it is
    assert done.code == 1 and done.err.count("needs a person") == 6, done.err
    assert "log_processor keys not translated: window_size 50" in done.err
    imported, finished = out.read_text(), (PORT / "train.pipe").read_text()
    # the loop and the validation scope are the import's, unchanged (DetVisualizationHook's
    # interval = 50 is the import's `every 50 batches`)
    assert imported[imported.index("\nloop {"):imported.index("\nvalidation")] == \
        finished[finished.index("\nloop {"):finished.index("\nvalidation")]
    assert imported[imported.index("\nvalidation"):] == finished[finished.index("\nvalidation"):]
    assert "after { det_visualization every 50 batches }" in imported


def test_yolox_port_checks_and_lints_with_warnings_as_errors() -> None:
    pipe = str(PORT / "train.pipe")
    assert run_cli("check", "--resolve", pipe).code == 0
    done = run_cli("lint", "--warnings-as-errors", pipe)
    assert done.code == 0, done.output
    assert run_cli("fmt", "--check", pipe).code == 0


@pytest.mark.slow  # the config's 300 epochs: about 30 s of CPU
def test_yolox_port_trains_and_validates_where_mmengine_does(tmp_path: Path) -> None:
    done = run_module("hookpipe.cli", "run", str(PORT / "train.pipe"), cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    epochs = [int(e) + 1 for e in re.findall(r"validation after \d+ steps \(epoch (\d+)\)", done.stdout)]
    assert epochs == [*range(10, 281, 10), *range(284, 301)]
    assert "epoch 285: strong augmentation off" in done.stdout
    # the validation scope: DetVisualizationHook's every 50 batches, once in each of the 45 validations
    assert done.stdout.count("drew validation batch 49 (1 images)") == len(epochs)
    assert "drew validation batch" not in done.stdout.replace("drew validation batch 49", "")
    saved = sorted(p.name for p in (tmp_path / "work_dirs/checkpoints").iterdir() if p.name.startswith("step-"))
    assert saved == ["step-00000560", "step-00000580", "step-00000600"]  # keep_last = 3


def test_the_schedule_factory_gives_mmengines_learning_rates() -> None:
    """A cosine phase, then a ConstantLR phase, 2 updates an epoch, against MMEngine's own schedulers.

    The expected rates are what MMEngine 0.10's ``CosineAnnealingParamScheduler`` and
    ``ConstantParamScheduler`` (``build_iter_from_epoch``, ``epoch_length=2``) set on an
    SGD optimizer with lr 1.0, read before each update: the cosine's last value (update 5)
    is held, ConstantLR halves it for ``end - begin - 1`` = 3 updates, and the held value
    stays after the last phase (the port had held update 6's value and fallen back to 1.0).
    """
    import importlib.util

    import torch

    # by path, under its own name: another example's `train` module may be imported already
    spec = importlib.util.spec_from_file_location("yolox_port_train", PORT / "train.py")
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)

    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    schedule = [{"type": "CosineAnnealingLR", "eta_min": 0.1, "begin": 0, "T_max": 3, "end": 3},
                {"type": "ConstantLR", "factor": 0.5, "begin": 3, "end": 5}]
    scheduler = train.lr_scheduler(optimizer, schedule, 2)
    rates = []
    for _ in range(12):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    held = 0.1602885683
    assert rates == pytest.approx([1.0, 0.9397114317, 0.775, 0.55, 0.325, held, held / 2, held / 2, held / 2,
                                   held, held, held], abs=1e-9)
