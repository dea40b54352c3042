"""A RoboOrchard container attached in one phase of a scope says which of its callbacks will not run.

Found by a RoboOrchard Lab user's trial: a container registering ``before`` and
``after`` on ``on_step``, attached only in ``step.after``, lost its ``before``
callbacks without a word (a timer started in ``before`` breaks silently).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hookpipe.runtime import HookBasedTrainer
from tests.runtime import hooklib
from tests.runtime.planbuild import tiny_trainer_text


def pipe(phases: str) -> str:
    return ('use h = "tests.runtime.hooklib"\n'
            + tiny_trainer_text(n=4, max_step=2, seed=0, cpu=True, progress=False)
            + 'hook optimize = optimizer()\nhook rec = h.SeedStyleHooksConfig(tag = "r")\n'
            + f"loop {{ epoch {{ step {{ {phases} }} }} }}\n")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "hook 'rec'" in r.getMessage()]


@pytest.mark.parametrize(("phases", "said", "ran"), [
    ("after { optimize\n rec }", "before", ["on_step_end"]),
    ("before { rec }\n after { optimize }", "after", ["on_step_begin"]),
])
def test_a_phase_left_out_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture, phases: str, said: str, ran: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.pipe").write_text(pipe(phases), encoding="utf-8")
    hooklib.LOG.clear()
    with caplog.at_level(logging.WARNING):
        HookBasedTrainer.from_file("t.pipe")()
    assert warnings(caplog) == [
        f"hook 'rec' registers `{said}` callbacks on on_step but is attached in that scope only in "
        f"`{'after' if said == 'before' else 'before'}`; they will not run (attach it in `{said}` too)"]
    assert sorted({name for tag, name, *_ in hooklib.LOG if tag == "r"}) == ran


def test_attached_in_both_phases_says_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.pipe").write_text(pipe("before { rec }\n after { optimize\n rec }"), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        HookBasedTrainer.from_file("t.pipe")()
    assert warnings(caplog) == []
