"""A ``SimpleBatchProcessor.forward`` that returns the loss alone is one line naming the method, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.runtime.loop.step_program import REFERENCE_ENV
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import tiny_trainer_text

PIPE = 'use h = "tests.runtime.hooklib"\n' + tiny_trainer_text(n=8, max_step=3, progress=False).replace(
    "h.MSE()", "h.LossOnly()") + "hook optimize = optimizer()\nloop { epoch { step { after { optimize } } } }\n"


@pytest.mark.parametrize("reference", [False, True], ids=["generated step", "seed's __call__"])
def test_a_forward_returning_the_loss_alone_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], reference: bool) -> None:
    assert "h.LossOnly()" in PIPE
    if reference:
        monkeypatch.setenv(REFERENCE_ENV, "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "loss_only.pipe").write_text(PIPE)
    assert run_file("loss_only.pipe", [], None) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "<hookpipe" not in err, err
    assert ("scope 'forward' failed in step 1 (loss_only.pipe:11): ForwardResultError: LossOnly.forward returned a torch.Tensor; a "
            "SimpleBatchProcessor's forward returns (outputs, loss), e.g. `return outputs, loss`") in err, err
