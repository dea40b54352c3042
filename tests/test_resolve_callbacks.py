"""``check --resolve`` / ``lint --resolve`` report a custom class without the method its attachment calls.

``hookpipe run`` refuses such a hook (it builds it and looks the method up); with
``--resolve`` the class is read instead, so the mistake is found before a job is
queued, with what to rename when the class uses another framework's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookpipe.cli import main
from hookpipe.runtime import PipelineHooks
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.plan.callback_check import rename_hint
from hookpipe.runtime.plan.plan_hooks import build_plan_hooks
from tests import test_class_effects
from tests.runtime import planbuild
from tests.runtime.planbuild import tiny_trainer_text


class LitStyle:
    """Lightning's name for the end of a training batch; hookpipe calls ``on_step_end``."""

    def on_train_batch_end(self, args: Any) -> None: ...


class Typo:
    def on_step_ends(self, args: Any) -> None: ...


class EpochOnly:
    def on_epoch_end(self, args: Any) -> None: ...


class Container(PipelineHooks):
    """A RoboOrchard container: it runs the contexts it registers, known only once built."""


class Dynamic:
    """Makes its callbacks up on access: known only once built."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):
            return lambda args: None
        raise AttributeError(name)


class ValidationEndless:
    def on_validation_batch_end(self, args: Any) -> None: ...


HEAD = ('use x = "tests.test_resolve_callbacks"\nuse h = "tests.runtime.hooklib"\nuse t = "tests.runtime.trackinglib"\n'
        + tiny_trainer_text(max_step=4, lr=0.1) + "hook optimize = optimizer()\n")


#: The fixture: a tmp folder, the project folder importable (as for `hookpipe run`).
project = test_class_effects.project


def write(folder: Path, text: str) -> str:
    return test_class_effects.write(folder, HEAD + text)


LIT = """hook lit = x.LitStyle()
loop { epoch { step { after {
    optimize
    lit every 2 steps
} } } }
"""

MESSAGE = ("15:5: HP006 error: hook `lit`: LitStyle has no method on_step_end, which this attachment calls; "
           "`hookpipe run` would refuse it")


def test_check_resolve_names_the_attachment_and_the_rename(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, LIT)
    assert main(["check", path]) == 0  # nothing imported: the file alone is fine
    capsys.readouterr()
    assert main(["check", "--resolve", path]) == 1
    err = capsys.readouterr().err
    assert f"{path}:{MESSAGE}" in err, err
    assert "help: rename `on_train_batch_end` (Lightning's name for this moment) to `on_step_end`" in err
    assert "Traceback" not in err


def test_lint_resolve_reports_it_too(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, LIT)
    assert main(["lint", "--resolve", path]) == 1
    assert MESSAGE in capsys.readouterr().out


class Bare:
    pass


@pytest.mark.parametrize("cls, help_line", [
    ("Typo", "help: rename `on_step_ends` to `on_step_end`"),
    # Another phase's callback is not offered as a rename: the attachment is in the wrong phase.
    ("EpochOnly", "help: it has `on_epoch_end` (epoch.after): attach it there, or define `on_step_end(self, args)`"),
    ("Bare", "help: define `on_step_end(self, args)` in the class, or attach the hook where it has a method"),
])
def test_the_help_line_without_a_known_foreign_name(
        project: Path, capsys: pytest.CaptureFixture[str], cls: str, help_line: str) -> None:
    path = write(project, LIT.replace("x.LitStyle", f"x.{cls}"))
    assert main(["check", "--resolve", path]) == 1
    err = capsys.readouterr().err
    assert f"HP006 error: hook `lit`: {cls} has no method on_step_end" in err and help_line in err, err


def test_inside_a_bracket_and_a_validation_block_too(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, """hook lit      = x.LitStyle()
hook average  = ema()
hook swap     = ema_swap(source = "average")
hook evaluate = validation(callback = t.val_step, dataloader = t.val_loader())
hook ends     = x.ValidationEndless()
validation evaluate {
    after { ends }
}
loop { epoch { step { after {
    optimize -> average
    with swap { lit }
    evaluate every 2 steps
} } } }
""")
    assert main(["check", "--resolve", path]) == 1
    err = capsys.readouterr().err
    assert "18:13: HP006 error: hook `ends`: ValidationEndless has no method on_validation_end" in err, err
    assert ("help: it has `on_validation_batch_end` (`validation NAME { batch { after } }`): attach it there, "
            "or define `on_validation_end(self, args)`") in err
    assert "22:17: HP006 error: hook `lit`: LitStyle has no method on_step_end" in err, err


@pytest.mark.parametrize("cls", ["Container", "Dynamic"])
def test_classes_known_only_once_built_are_left_to_run(
        project: Path, capsys: pytest.CaptureFixture[str], cls: str) -> None:
    path = write(project, LIT.replace("x.LitStyle", f"x.{cls}"))
    assert main(["check", "--resolve", path]) == 0, capsys.readouterr().err


def test_run_words_it_the_same_with_the_rename() -> None:
    plan = planbuild.plan(
        planbuild.tiny_trainer(max_step=2),
        [planbuild.hook("lit", "tests.test_resolve_callbacks:LitStyle", line=3)],
        [planbuild.entry("lit", "step", "after", line=7)],
    )
    with pytest.raises(PlanResolveError) as err:
        build_plan_hooks(plan, is_main=True)
    assert str(err.value) == ("hook 'lit' (test.pipe:3): LitStyle has no method on_step_end (attached at "
                              "test.pipe:7); rename `on_train_batch_end` (Lightning's name for this moment) "
                              "to `on_step_end`")


def test_mmengine_names_are_mapped_too() -> None:
    class MMStyle:
        def after_train_iter(self, runner: Any) -> None: ...

    assert rename_hint(MMStyle, "on_step_end") == "rename `after_train_iter` (MMEngine's name for this moment) to `on_step_end`"
    assert rename_hint(MMStyle, "on_epoch_end") is None
