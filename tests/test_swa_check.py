"""``swa`` with a trainer ``lr_scheduler`` is HP003 in ``check``, ``lint`` and the editor, before anything runs.

From its ``start`` SWALR sets the learning rate, and the ``optimizer`` hook steps
the trainer's scheduler on every update, so the runtime refuses the pair
(tests/runtime/test_swa.py); the compiler must refuse it too, or ``run`` would fail
on a file ``check`` passed.
"""

from __future__ import annotations

from pathlib import Path

from hookpipe.compiler.pipeline import compile_path
from hookpipe.lsp.analysis import analyse
from hookpipe.lsp.diagnostics import to_lsp
from tests.helpers import run_cli

SCHEDULER = '    lr_scheduler    = "torch.optim.lr_scheduler.StepLR"(step_size = 1000, gamma = 0.5)\n'

PIPE = f"""pipeline "swa_sched"
trainer {{
    max_epoch       = 3
    optimizer       = "torch.optim.SGD"(lr = 0.1)
{SCHEDULER}}}
hook optimize = optimizer()
hook average  = swa(start = 3, lr = 0.05)
loop {{
    epoch {{
        step {{ after {{ optimize }} }}
        after {{ average }}
    }}
}}
"""

HOOK_LINE, SCHEDULER_LINE = 8, 5


def _write(tmp_path: Path, text: str, name: str = "swa_sched.pipe") -> Path:
    (tmp_path / "pyproject.toml").touch()  # the project root, for includes
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_names_the_hook_the_setting_and_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, PIPE)
    result = run_cli("check", str(path))
    assert result.code == 1 and "Traceback" not in result.output
    assert (f"{path}:{HOOK_LINE}:17: HP003 error: `average` (swa) cannot run with a trainer `lr_scheduler`: from "
            "its start (epoch 3) SWALR sets the learning rate, and the `optimizer` hook steps the trainer's "
            "lr_scheduler on every update, which would overwrite it") in result.output
    assert f"note: {path}:{SCHEDULER_LINE}:5: the trainer's `lr_scheduler` is set here" in result.output
    assert ("help: remove `lr_scheduler` from the trainer block (the optimizer's lr holds until `start`, then "
            "SWALR anneals it to swa's `lr`), or remove the swa hook to keep the schedule") in result.output
    assert "hookpipe: 1 error" in result.output


def test_lint_reports_it_as_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, PIPE)
    result = run_cli("lint", str(path))
    assert result.code == 1
    assert f"{path}:{HOOK_LINE}:17: HP003 error: `average` (swa) cannot run" in result.output
    assert "1 error, 0 warnings" in result.output


def test_the_editor_shows_it_with_the_setting_as_related_information(tmp_path: Path) -> None:
    path = _write(tmp_path, PIPE).resolve()
    analysis = analyse(path, {})
    (found,) = analysis.diagnostics[path]
    shown = to_lsp(found, analysis.ctx)
    assert shown.code == "HP003" and shown.range.start.line == HOOK_LINE - 1
    assert shown.message.startswith("`average` (swa) cannot run with a trainer `lr_scheduler`")
    (related,) = shown.related_information or []
    assert related.location.range.start.line == SCHEDULER_LINE - 1
    assert related.message == "the trainer's `lr_scheduler` is set here"


def test_no_schedule_or_lr_scheduler_none_checks_clean(tmp_path: Path) -> None:
    for text in (PIPE.replace(SCHEDULER, ""), PIPE.replace(SCHEDULER, "    lr_scheduler    = none\n")):
        assert run_cli("check", str(_write(tmp_path, text))).code == 0


def test_a_schedule_from_an_included_file_is_reported_and_a_none_over_it_is_not(tmp_path: Path) -> None:
    base = "trainer {\n" + SCHEDULER + "}\n"
    _write(tmp_path, base, "base.pipe")
    main = 'include "base.pipe"\n' + PIPE.replace(SCHEDULER, "")
    ctx = compile_path(_write(tmp_path, main))
    (found,) = [d for d in ctx.diagnostics if d.severity == "error"]
    assert found.code == "HP003" and found.span.file.endswith("swa_sched.pipe")
    (note,) = found.notes
    assert note.span is not None and note.span.file.endswith("base.pipe") and note.span.line == 2
    overridden = 'include "base.pipe"\n' + PIPE.replace(SCHEDULER, "    lr_scheduler    = none\n")
    assert not [d for d in compile_path(_write(tmp_path, overridden)).diagnostics if d.severity == "error"]


def test_other_hooks_with_a_schedule_are_not_affected(tmp_path: Path) -> None:
    text = PIPE.replace("hook average  = swa(start = 3, lr = 0.05)", "hook average  = ema(decay = 0.99)")
    text = text.replace("after { average }", "").replace("step { after { optimize } }",
                                                         "step { after { optimize -> average } }")
    assert run_cli("check", str(_write(tmp_path, text))).code == 0
