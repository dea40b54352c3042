"""``hookpipe run`` compiles the file once: the lint before the first step judges the compilation that runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hookpipe.compiler.pipeline as pipeline
from hookpipe.runtime.run import run_file
from tests.runtime.planbuild import tiny_trainer_text

#: No optimizer attachment: a run that trains nothing, which the lint warns about.
NO_UPDATE = 'use h = "tests.runtime.hooklib"\n' + tiny_trainer_text(n=8, max_step=2) + """\
hook note = h.Recorder(tag = "note")
loop { epoch { step { after { note } } } }
"""


def test_one_compile_per_run_and_the_lint_reports_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.pipe"
    path.write_text(NO_UPDATE, encoding="utf-8")
    compiled: list[str] = []
    original = pipeline.run_passes

    def counting(loaded: Any, main: str, *args: Any, **kwargs: Any) -> Any:
        compiled.append(main)
        return original(loaded, main, *args, **kwargs)

    monkeypatch.setattr(pipeline, "run_passes", counting)
    monkeypatch.chdir(tmp_path)
    assert run_file(str(path), [], None) == 0
    assert len(compiled) == 1
    err = capsys.readouterr().err
    assert "HP10" in err and "the lint runs before the first step" in err
