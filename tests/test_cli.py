"""The check and explain commands as a user runs them: exit codes, output, imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hookpipe.cli import main
from hookpipe.compiler import compile_file
from hookpipe.compiler.schedule import simulate
from tests.helpers import ROOT, run_cli_process

EXAMPLES = sorted((ROOT / "examples").rglob("*.pipe"))
BAD = """trainer {
    max_step = 10
}
hook clip = grad_clip(max_norm = 1.0)
hook optimize = optimizer()
loop {
    epoch {
        step {
            after {
                optimize
                clip
            }
        }
    }
}
"""


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.relative_to(ROOT).as_posix() for p in EXAMPLES])
def test_every_example_checks_cleanly(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(example)]) == 0
    assert "ok (plan" in capsys.readouterr().out


@pytest.mark.slow
def test_optimizer_before_clip_fails_pointing_at_both_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pipe"
    bad.write_text(BAD)
    result = run_cli_process("check", str(bad))
    assert result.returncode == 1
    assert "bad.pipe:11:17: HP005 error:" in result.stderr
    assert "bad.pipe:10:17: `optimize` consumes `grads` here" in result.stderr
    assert "effect rule: grads (write < consume)" in result.stderr
    assert "11 |                 clip\n   |                 ^^^^\n" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_usage_errors_exit_2() -> None:
    missing = run_cli_process("check", "no/such/file.pipe")
    assert (missing.returncode, missing.stderr.strip()) == (2, "hookpipe: error: no/such/file.pipe: no such file")
    no_file = run_cli_process("check")
    assert no_file.returncode == 2 and "the following arguments are required: PATH" in no_file.stderr
    unknown = run_cli_process("frobnicate")
    assert unknown.returncode == 2 and "invalid choice: 'frobnicate'" in unknown.stderr
    assert "Traceback" not in missing.stderr + no_file.stderr + unknown.stderr


@pytest.mark.slow
def test_a_file_that_is_not_utf8_is_a_diagnostic(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.pipe"
    bad.write_bytes(b"hook a = t(x = \"\xe9\")\n")
    result = run_cli_process("check", str(bad))
    assert result.returncode == 1 and "HP001" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_several_files_mixed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pipe"
    bad.write_text(BAD)
    result = run_cli_process("check", str(EXAMPLES[0]), str(bad))
    assert result.returncode == 1
    assert "ok (plan" in result.stdout and "HP005" in result.stderr


@pytest.mark.slow
def test_explain_prints_nested_pseudo_code() -> None:
    result = run_cli_process("explain", "examples/digits/train.pipe")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "# pipeline digits: max_epoch=5, grad_accumulation=1"
    order = [i for i, line in enumerate(lines) for key in ("with on_loop:", "with on_epoch:", "with on_step:",
                                                         "with on_batch:") if line.strip() == key]
    assert order == sorted(order) and len(order) == 4
    text = result.stdout
    assert "save      checkpoint" in text and "every 400 steps  # examples/digits/train.pipe:32" in text
    assert "every 50 steps, on main  # examples/digits/train.pipe:33" in text
    # Hooks appear in plan order.
    step_after = [line.split()[0] for line in lines[lines.index(next(x for x in lines if "# step.after" in x)) + 1:][:5]]
    assert step_after == ["clip", "optimize", "evaluate", "save", "speed"]


@pytest.mark.slow
def test_explain_steps_matches_the_schedule(tmp_path: Path) -> None:
    # The example trains 5 epochs; 10 of them (450 steps) reach its `every 400 steps` save.
    source = tmp_path / "train.pipe"
    source.write_text((ROOT / "examples/digits/train.pipe").read_text().replace("max_epoch         = 5",
                                                                                "max_epoch         = 10"))
    result = run_cli_process("explain", str(source), "--steps", "450", "--steps-per-epoch", "45", "--json")
    assert result.returncode == 0 and result.stderr == ""
    events = json.loads(result.stdout)
    plan = compile_file(source)
    assert events == [f.to_json() for f in simulate(plan, 450, 45, acting=True)]
    saves = [(e["step"], e["phase"]) for e in events if e["hook"] == "save"]
    evaluations = [(e["step"], e["epoch"], e["phase"]) for e in events if e["hook"] == "evaluate"]
    assert saves == [(399, "step.after"), (None, "loop.after")]  # every 400 steps, and once at the end
    assert evaluations[0] == (None, None, "loop.before")
    assert (199, 4, "step.after") in evaluations and (399, 8, "step.after") in evaluations
    assert sum(1 for e in evaluations if e[2] == "epoch.after") == 10
    table = run_cli_process("explain", "examples/digits/train.pipe", "--steps", "60", "--steps-per-epoch", "45").stdout
    # Steps counted from 1, as the run counts them: `speed every 50 steps` is on row 50 (global_step_id 49).
    assert "    50      1  step.after        clip, optimize, speed (main)" in table


def test_explain_steps_stops_where_the_files_limits_end_the_run() -> None:
    # digits trains max_epoch = 5: at 45 steps per epoch the run ends after 225 steps.
    table = run_cli_process("explain", "examples/digits/train.pipe", "--steps", "450", "--steps-per-epoch", "45")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[-3:] == [
        "      -      4  epoch.after       evaluate",
        "      -      -  loop.after        save",
        "# the run ends after 225 steps (max_epoch = 5, 45 steps per epoch): the 225 steps past it that "
        "--steps 450 asked for are not listed",
    ]
    assert not any(line.split()[1:2] == ["5"] for line in lines[1:-1])  # no sixth epoch
    as_json = run_cli_process("explain", "examples/digits/train.pipe", "--steps", "450", "--steps-per-epoch", "45",
                              "--json")
    plan = compile_file(ROOT / "examples/digits/train.pipe")
    assert json.loads(as_json.stdout) == [f.to_json() for f in simulate(plan, 225, 45, acting=True)]
    assert "the run ends after 225 steps" in as_json.stderr
    # Within the limits nothing is cut or said.
    within = run_cli_process("explain", "examples/digits/train.pipe", "--steps", "225", "--steps-per-epoch", "45")
    assert "the run ends" not in within.stdout + within.stderr


def test_explain_steps_lists_update_only_hooks_on_update_steps(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "accumulate.pipe"
    source.write_text("trainer {\n    max_step = 6\n    grad_accumulation = 2\n}\n"
                      "hook clip = grad_clip(max_norm = 1.0)\nhook optimize = optimizer()\n"
                      "hook average = ema(decay = 0.99)\nhook losses = loss_log()\n"
                      "loop { epoch { step { after { clip -> optimize -> average -> losses } } } }\n")
    assert main(["explain", str(source), "--steps", "6", "--steps-per-epoch", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "  step  epoch  phase             hooks",
        "     1      0  step.after        losses",
        "   2-3      0  step.after        clip, optimize, average, losses",
        "     4      1  step.after        losses",
        "   5-6      1  step.after        clip, optimize, average, losses",
    ]
    assert main(["explain", str(source), "--steps", "4", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["step"], e["hook"]) for e in events if e["hook"] in ("clip", "losses")] == [
        (0, "losses"), (1, "clip"), (1, "losses"), (2, "losses"), (3, "clip"), (3, "losses")]


@pytest.mark.slow
def test_check_and_explain_never_import_heavy_or_user_modules() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from hookpipe.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check', 'examples/digits/train.pipe', 'examples/all_scopes.pipe'])\n"
        "    main(['explain', 'examples/digits/train.pipe', '--steps', '10'])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'accelerate', 'robo_orchard_core', 'examples', 'numpy', 'graphviz')]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_importing_dsl_and_compiler_stays_light() -> None:
    code = "import sys, hookpipe, hookpipe.dsl, hookpipe.compiler; print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch','accelerate','robo_orchard_core')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"



_IMPORTS = (
    "import sys, io, contextlib\n"
    "from hookpipe.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try:\n"
    "        status = main(sys.argv[1:])\n"
    "    except SystemExit as exc:\n"
    "        status = exc.code\n"
    "print(status, sorted({m for m in sys.modules if m.split('.')[0] == 'pydantic' or m.startswith(\n"
    "    ('hookpipe.compiler', 'hookpipe.lint.formats.'))}))\n"
)


def _imports(*argv: str) -> str:
    return subprocess.run([sys.executable, "-c", _IMPORTS, *argv], capture_output=True, text=True, cwd=ROOT,
                          check=True).stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["fmt", "--check", "examples/digits/train.pipe"], ["--version"], ["lint", "--help"]])
def test_commands_that_do_not_compile_never_import_the_compiler(argv: list[str]) -> None:
    """``fmt`` only parses, and building the parsers imports no command's work: none loads pydantic."""
    assert _imports(*argv) == "0 []"


@pytest.mark.slow
def test_lint_imports_only_the_format_it_prints() -> None:
    status, modules = _imports("lint", "--format", "github", "examples/digits/train.pipe").split(" ", 1)
    assert status == "0"
    assert "hookpipe.lint.formats.github" in modules and "hookpipe.lint.formats.text" in modules  # github reuses text
    assert "sarif" not in modules and "json_format" not in modules
