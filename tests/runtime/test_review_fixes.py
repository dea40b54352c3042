"""What a review of the seed-hook changes found: each stays fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.compiler import compile_text
from hookpipe.compiler.schedule import simulate
from hookpipe.runtime.run import run_file
from tests.runtime import runlib
from tests.runtime.planbuild import tiny_trainer_text

HEAD = 'use h = "tests.runtime.hooklib"\nuse r = "tests.runtime.runlib"\n'


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hooks: str, attach: str) -> int:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    text = HEAD + tiny_trainer_text(n=6, max_step=3, progress=False) + "hook optimize = optimizer()\n" + hooks + \
        "loop { epoch { step { after {\n    optimize\n" + attach + "\n} } } }\n"
    (tmp_path / "t.pipe").write_text(text)
    return run_file("t.pipe", [], None)


def test_a_user_class_built_from_its_own_config_still_runs_its_methods(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only hookpipe's copies of the seed's hooks run what they registered alone; a user's class is called."""
    runlib.CountedHook.calls.clear()
    assert _run(tmp_path, monkeypatch, 'hook mine = "tests.runtime.runlib.CountedHookConfig"()\n', "    mine") == 0
    assert runlib.CountedHook.calls == [0, 1, 2]


def test_a_factory_that_raises_in_a_hook_argument_keeps_its_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    hooks = 'hook mine = "tests.runtime.runlib.Note"(tag = r.boom())\n'
    assert _run(tmp_path, monkeypatch, hooks, "    mine") == 1
    err = capsys.readouterr().err
    assert 'raise ValueError("boom in a factory")' in err  # the factory's traceback, then the line
    assert "ValueError: boom in a factory" in err.splitlines()[-1] and "hook 'mine'" in err.splitlines()[-1]


def test_explain_steps_and_the_listing_agree_on_the_seed_clip_acting_on_updates_only() -> None:
    text = ("trainer {\n    max_step = 4\n    grad_accumulation = 2\n}\nhook optimize = optimizer()\n"
            'hook clip = "hookpipe.runtime.GradientClippingHookConfig"(clip_mode = "norm", max_norm = 1.0)\n'
            "loop { epoch { step { after {\n    clip -> optimize\n} } } }\n")
    plan = compile_text(text, "t.pipe")
    assert [f.step + 1 for f in simulate(plan, 4, 4, acting=True) if f.hook == "clip"] == [2, 4]
