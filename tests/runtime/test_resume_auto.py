"""``--resume auto``: one command for a job a scheduler may start again (a preempted, requeued job).

No checkpoint yet: a new run. A checkpoint: the newest is resumed, as ``latest``.
The run already ended: nothing to train, exit 0 (``latest`` exits 1 there).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hookpipe.runtime.run import RunOptions, run_file
from tests.runtime.planbuild import tiny_trainer_text

PIPE = 'use h = "tests.runtime.hooklib"\n' + tiny_trainer_text(n=8, max_step=6, seed=0, progress=False) + """\
hook optimize = optimizer()
hook save     = checkpoint(dir = "ckpt", asynchronous = false)
loop {
    epoch { step { after { optimize -> save every 4 steps } } }
    after { save }
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "train.pipe").write_text(PIPE)
    return tmp_path


def test_auto_starts_continues_and_ends_with_one_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_file("train.pipe", ["trainer.max_step=4"], "auto") == 0
    out = capsys.readouterr()
    assert "hookpipe run: --resume auto: no complete checkpoint yet: starting a new run" in out.err
    assert "train.pipe: 4 steps" in out.out
    assert run_file("train.pipe", [], "auto") == 0  # requeued with the full length: continues after step 4
    out = capsys.readouterr()
    assert "resuming ckpt/step-00000004 after 4 steps" in out.err and "(resumed from ckpt/step-00000004)" in out.out
    assert run_file("train.pipe", [], "auto") == 0  # started once more after it ended: nothing to do, exit 0
    err = capsys.readouterr().err
    assert "nothing to train" in err and "ckpt/step-00000006" in err
    assert run_file("train.pipe", [], "latest") == 1  # latest keeps its exit status there


def test_auto_without_a_checkpoint_hook_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "plain.pipe").write_text(PIPE.replace('hook save     = checkpoint(dir = "ckpt", asynchronous = false)\n',
                                                     "").replace(" -> save every 4 steps", "")
                                        .replace("    after { save }\n", ""))
    assert run_file("plain.pipe", [], "auto") == 1
    assert "--resume auto: plain.pipe has no checkpoint hook" in capsys.readouterr().err


def test_a_search_never_resumes_another_pipelines_checkpoint(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A copy of a file edited into a new experiment, sharing the checkpoint folder (a port that ignored
    MMEngine's work_dir did this): ``auto``/``latest`` used to continue the other experiment's weights."""
    (project / "first.pipe").write_text('pipeline "first"\n' + PIPE)
    (project / "second.pipe").write_text('pipeline "second"\n' + PIPE.replace("seed = 0", "seed = 1"))
    assert run_file("first.pipe", ["trainer.max_step=4"], None) == 0
    capsys.readouterr()
    for resume in ("auto", "latest"):
        assert run_file("second.pipe", [], resume) == 1
        err = capsys.readouterr().err
        assert (f"--resume {resume}: ckpt/step-00000004 was written by pipeline 'first' (first.pipe), not by this "
                "one ('second'): it is another experiment's; give this pipeline a checkpoint folder of its own, or "
                "name the checkpoint to continue it anyway (--resume ckpt/step-00000004), or start a new run from "
                "its weights (--weights-from ckpt/step-00000004)") in err
        assert "Traceback" not in err
    assert sorted(p.name for p in (project / "ckpt").iterdir()) == ["step-00000004"]  # nothing written
    # the pipeline that wrote it still finds it
    assert run_file("first.pipe", ["trainer.max_step=4"], "auto") == 0
    assert "nothing to train: ckpt/step-00000004 ends a run" in capsys.readouterr().err
    # --weights-from starts a new run: another pipeline's newest weights are what it asks for
    assert run_file("second.pipe", ["trainer.max_step=2"], None, options=RunOptions(weights_from="latest")) == 0
    assert "starting a new run from the weights of ckpt/step-00000004" in capsys.readouterr().err
    shutil.rmtree(project / "ckpt" / "v1")  # the folder that run saved in (the folder named held another run's)
    # named by its path, it is the user's choice: it resumes, the pipeline's name among the changes
    assert run_file("second.pipe", [], "ckpt/step-00000004") == 0
    err = capsys.readouterr().err
    assert "resuming ckpt/step-00000004 after 4 steps" in err and '  pipeline: "first" -> "second"' in err
