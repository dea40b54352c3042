"""``hookpipe import`` outputs that use the language's newer forms: ``until``, a validation scope,
``with`` brackets, ``ema_swap``, ``ema(momentum = "exp", buffers)``, ``lr_plateau`` and ``swa``.

They pass once those forms are in the language (each output must check clean, like
every other import; tests/test_import.py has the rest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hookpipe.porting.writer import MARK
from tests.helpers import run_cli
from tests.test_import import IMPORT, block, do_import, imported

#: MMDetection's YOLOX-s config, as shipped with the port made from it (examples/ports/yolox).
YOLOX = Path(__file__).resolve().parents[1] / "examples/ports/yolox/configs/yolox/yolox_s_8xb8-300e_coco.py"


def test_yolox(tmp_path: Path) -> None:
    result, text = imported("mmengine", YOLOX, tmp_path)
    assert "hook ema" in text and 'ema(decay = 0.9999, momentum = "exp", buffers = true)' in text
    assert 'ema_swap(source = "ema")' in text
    swap = block(text, "with swap {").splitlines()
    # the last interval's attachment also fires at the end: MMEngine validates the last epoch at any length
    assert swap[1:3] == ["evaluate every 10 epochs until 283", "evaluate every epoch from 284 and at end"]
    epoch = block(text, "epoch {")
    # SyncNormHook (priority 48) runs in before_val_epoch ahead of EMAHook's swap (49): with evaluate's frequencies,
    # before the bracket; the checkpoint after the validation; the logger's record in the validation's own after
    lines = epoch.splitlines()
    at = lines.index("sync_norm every 10 epochs until 283")
    assert lines[at - 1:at + 7] == ["after {", "sync_norm every 10 epochs until 283",
                                    "sync_norm every epoch from 284 and at end", "with swap {",
                                    "evaluate every 10 epochs until 283", "evaluate every epoch from 284 and at end",
                                    "}", "save      every 10 epochs"]
    assert "before { yolox_mode_switch }" in epoch.splitlines()[1]  # one chain: the formatter writes it inline
    assert block(text, "validation evaluate {").splitlines()[-2] == "after { logger }"
    # DetVisualizationHook's after_val_iter: the batch scope of evaluate's own validation run
    assert block(block(text, "validation evaluate {"), "batch {").splitlines()[1].strip() == \
        "after { det_visualization every 50 batches }"  # its interval = 50: (batch_idx + 1) % 50 == 0
    assert "3 lines marked" not in result.err


def test_lightning_plateau_and_swa(tmp_path: Path) -> None:
    _, text = imported("lightning", IMPORT / "lightning/plateau_swa.yaml", tmp_path)
    assert 'lr_plateau(monitor = "evaluate.val_loss", mode = "min", factor = 0.5, patience = 3)' in text
    assert "swa(start = 22, lr = 0.01, anneal_epochs = 5)" in text
    epoch = block(text, "epoch {")
    assert epoch.index("evaluate every epoch") < epoch.index("plateau") < epoch.index("swa")
    assert "lr_scheduler" not in text  # the plateau schedule is the lr_plateau hook


def _swa_with_a_scheduler(tmp_path: Path, length: str, swa_args: str) -> tuple[Path, Any, list[str], int]:
    """Import a Lightning config with StochasticWeightAveraging and a StepLR: the output, result, lines, swa's line."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"trainer:\n  {length}\n  enable_checkpointing: false\n  callbacks:\n"
        "    - class_path: lightning.pytorch.callbacks.StochasticWeightAveraging\n      init_args:\n"
        f"        swa_lrs: 0.01\n{swa_args}"
        "model:\n  class_path: my_project.Regressor\n"
        "lr_scheduler:\n  class_path: torch.optim.lr_scheduler.StepLR\n  init_args:\n    step_size: 10\n",
        encoding="utf-8")
    out = tmp_path / "out.pipe"
    result = do_import("lightning", config, out)
    lines = out.read_text().splitlines()
    return out, result, lines, next(n for n, line in enumerate(lines, 1) if line.startswith("hook swa "))


def test_lightning_swa_with_a_fraction_and_no_max_epochs_leaves_start_to_a_person(tmp_path: Path) -> None:
    out, result, lines, at = _swa_with_a_scheduler(tmp_path, "max_steps: 500", "")
    code, mark, comment = lines[at - 1].partition(MARK)
    assert code.split() == ["hook", "swa", "=", "swa(lr", "=", "0.01)"]  # no start: 0.8 of no max_epochs
    assert mark and comment.strip() == ("swa_epoch_start = 0.8 is a fraction of max_epochs, which is not set: write "
                               "start = N (the first averaged epoch); swa runs with no trainer lr_scheduler "
                               "(Lightning hands the lr to SWALR at `start`): remove `lr_scheduler` or this hook")
    assert result.code == 1 and f"{out}:{at}: needs a person" in result.err
    check = run_cli("check", str(out))
    assert check.code == 1 and f"{out}:{at}:" in check.output and "`swa` needs `start`" in check.output
    # what the mark says: check refuses the schedule with swa, pointing at both
    scheduler_line = next(n for n, line in enumerate(lines, 1) if line.strip().startswith("lr_scheduler"))
    assert f"{out}:{at}:17: HP003 error: `swa` (swa) cannot run with a trainer `lr_scheduler`" in check.output
    assert f"note: {out}:{scheduler_line}:5: the trainer's `lr_scheduler` is set here" in check.output


def test_lightning_swa_with_a_scheduler_is_marked_and_check_says_what_to_remove(tmp_path: Path) -> None:
    out, result, lines, at = _swa_with_a_scheduler(tmp_path, "max_epochs: 10", "        swa_epoch_start: 8\n")
    code, mark, comment = lines[at - 1].partition(MARK)
    assert code.split() == ["hook", "swa", "=", "swa(start", "=", "8,", "lr", "=", "0.01)"]
    assert mark and "remove `lr_scheduler` or this hook" in comment
    assert result.code == 1 and f"{out}:{at}: needs a person" in result.err
    check = run_cli("check", str(out))
    assert check.code == 1 and check.output.count("error:") == 1
    assert f"{out}:{at}:17: HP003 error: `swa` (swa) cannot run with a trainer `lr_scheduler`" in check.output
    # removing the schedule, as the mark says, leaves a file that checks clean
    out.write_text("\n".join(line for line in lines if not line.strip().startswith("lr_scheduler")) + "\n")
    assert run_cli("check", str(out)).code == 0
