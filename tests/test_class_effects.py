"""Custom hook classes' own declarations: effects per callback and ``collective``.

Without ``--resolve`` nothing is imported and only the ``.pipe`` file counts; with it
(``check --resolve``, ``lint --resolve``, and ``hookpipe run``) the class's
``effects`` (hook-level or per callback) and ``collective`` join what the file says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hookpipe.cli import main
from hookpipe.compiler import compile_text
from hookpipe.compiler.class_effects import class_info
from hookpipe.compiler.plan import Effects
from tests import hookclasses
from tests.helpers import ROOT

TRAINER = """use c = "tests.hookclasses"
use h = "tests.runtime.hooklib"
trainer {
    max_step        = 20
    model           = h.tiny_model()
    dataloader      = h.tiny_loader()
    optimizer       = "torch.optim.SGD"(lr = 0.1)
    batch_processor = h.MSE()
}
"""

LATE_CLIP = TRAINER + """hook optimize = optimizer()
hook clip     = c.LateClipper()
loop { epoch { step { after {
    optimize
    clip
} } } }
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)  # the project folder is importable, as for `hookpipe run`
    return tmp_path


def write(folder: Path, text: str) -> str:
    path = folder / "x.pipe"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_resolve_reports_hp005_from_effects_declared_only_on_the_class(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, LATE_CLIP)
    assert main(["check", path]) == 0  # the file alone says nothing about `clip`
    capsys.readouterr()
    assert main(["check", "--resolve", path]) == 1
    err = capsys.readouterr().err
    assert f"{path}:14:5: HP005 error: effect order violated in step.after: `clip` writes `grads`, " \
           "so it must run before `optimize`, which consumes it" in err


def test_lint_resolve_reports_it_too(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, LATE_CLIP)
    assert main(["lint", "--resolve", path]) == 1
    assert "14:5: HP005 error" in capsys.readouterr().out


def test_hookpipe_run_orders_by_the_class_effects(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hookpipe.errors import CompileError
    from hookpipe.runtime.build import load_plan

    with pytest.raises(CompileError, match="HP005"):
        load_plan(write(project, LATE_CLIP))
    # Two blocks of one phase merge with no written order between them: only effects order them.
    merged = TRAINER + """hook optimize = optimizer()
hook clip     = c.LateClipper()
loop { epoch { step {
    after { optimize }
    after { clip }
} } }
"""
    assert [e.hook for e in compile_text(merged, "x.pipe").phase("step", "after").entries] == ["optimize", "clip"]
    plan = load_plan(write(project, merged))
    assert [e.hook for e in plan.phase("step", "after").entries] == ["clip", "optimize"]
    assert plan.hook("clip").effects == Effects(writes=("grads",))


CHECKPOINTED = TRAINER + """hook optimize = optimizer()
hook average  = c.AVERAGE()
hook evaluate = validation(callback = h.held_out_error)
hook save     = checkpoint(dir = "runs/x", monitor = "evaluate.mse")
loop {
    epoch { step { after {
        optimize
        average
        save every 5 steps
    } } }
    after { average -> evaluate }
}
"""


def test_per_callback_effects_keep_hp108_precise(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Writing metrics only in loop.after, the average does not refresh them before each step checkpoint.
    strict = ["lint", "--resolve", "--warnings-as-errors"]
    assert main([*strict, write(project, CHECKPOINTED.replace("AVERAGE", "PerCallbackAverage"))]) == 1
    out = capsys.readouterr().out
    assert ("x.pipe:18:9: HP108 error: checkpoint `save` records metrics at step 5, where validation did not just "
            "run: saved there, it is not ranked by `evaluate.mse`") in out
    # Declared for the whole hook, it would count as a metrics writer in step.after: nothing to report.
    assert main([*strict, write(project, CHECKPOINTED.replace("AVERAGE", "WholeHookAverage"))]) == 0
    assert "no findings" in capsys.readouterr().out


def test_pipe_effects_add_to_every_callback_s_own() -> None:
    from hookpipe.compiler.class_effects import merge

    hook_level, callbacks = merge(class_info(hookclasses.PerCallbackAverage), Effects(reads=("time",)))
    assert hook_level == Effects(reads=("time",))
    assert callbacks["on_step_end"] == Effects(reads=("params", "time"), writes=("ema",))
    assert callbacks["on_loop_end"] == Effects(reads=("ema", "time"), writes=("metrics",))


def test_a_malformed_effects_attribute_is_hp003(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, LATE_CLIP.replace("LateClipper", "Misspelt"))
    assert main(["check", "--resolve", path]) == 1
    err = capsys.readouterr().err
    assert "HP003 error: hook `clip` (tests.hookclasses:Misspelt): class attribute `effects` has unknown keys " \
           "'on_step_ned'" in err


GATHER = TRAINER + """hook optimize = optimizer()
hook gather   = c.Gather() DECL
loop { epoch { step { after {
    optimize
    gather on main
} } } }
"""


def test_collective_declared_in_the_pipe_file_is_covered_by_hp109(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GATHER.replace("DECL", "{ collective }"))
    assert main(["lint", "--warnings-as-errors", path]) == 1  # no import needed
    out = capsys.readouterr().out
    assert "14:15: HP109 error: `gather` runs only on the main process, but it is declared `collective`" in out
    assert compile_text(GATHER.replace("DECL", "{ collective }"), "x.pipe").hook("gather").collective


def test_collective_on_the_class_is_covered_by_hp109_with_resolve(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project, GATHER.replace("DECL", ""))
    assert main(["lint", "--warnings-as-errors", path]) == 0  # without importing, nothing is known
    capsys.readouterr()
    assert main(["lint", "--resolve", "--warnings-as-errors", path]) == 1
    assert "HP109 error: `gather` runs only on the main process" in capsys.readouterr().out


def test_collective_is_a_flag_of_custom_hooks_only() -> None:
    from hookpipe.errors import CompileError

    with pytest.raises(CompileError, match="HP003 error: `collective` cannot be declared for the built-in `optimize`"):
        compile_text(GATHER.replace("DECL", "").replace("optimizer()", "optimizer() { collective }"), "x.pipe")
    with pytest.raises(CompileError, match=r"(?s)HP002 error: unknown declaration `colective`.*did you mean `collective`"):
        compile_text(GATHER.replace("DECL", "{ colective }"), "x.pipe")


def test_plans_without_collective_keep_their_json() -> None:
    plan = compile_text(GATHER.replace("DECL", "{ reads time }"), "x.pipe")
    assert "collective" not in plan.to_json()


def test_fmt_keeps_the_collective_flag() -> None:
    from hookpipe.dsl.formatter import format_text

    text = 'hook g = "m.G"() {\n    collective\n    reads time\n}\nhook h = "m.H"() { collective }\n'
    assert format_text(text, "x.pipe").text == text


def test_resolve_imports_hook_classes_from_the_project_folder_of_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A project of its own (pyproject.toml marks it) with its hook class beside the .pipe file,
    # checked from another working directory: the module search rule of `hookpipe run` applies.
    project = tmp_path / "proj"
    (project / "pipes").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (project / "projhooks_late.py").write_text(
        "class LateClipper:\n"
        "    effects = {'on_step_end': {'writes': ('grads',)}}\n"
        "    def on_step_end(self, args): ...\n")
    path = write(project / "pipes", LATE_CLIP.replace('"tests.hookclasses"', '"projhooks_late"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))  # the roots it adds go with the test
    assert main(["check", "--resolve", path]) == 1
    err = capsys.readouterr().err
    assert "14:5: HP005 error: effect order violated in step.after: `clip` writes `grads`" in err, err
    assert "HP002" not in err
    assert main(["lint", "--resolve", path]) == 1
    assert "14:5: HP005 error" in capsys.readouterr().out
