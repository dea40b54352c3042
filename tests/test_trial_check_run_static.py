"""What `check` must refuse (or lint must say) so that `run` never meets it: a user's trial of check vs run.

Each case passed `check` and then failed in `run` (a NumPy error, a segfault, an
AssertionError at step 1), or passed silently where the same mistake written
another way is reported.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from typing import Any

import pytest

from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import compile_text, run_passes
from hookpipe.diagnostics import has_errors
from hookpipe.errors import CompileError
from hookpipe.lint.rules import run_rules

#: NumPy's seed range ends here (accelerate's set_seed seeds NumPy); the thread bound hookpipe sets.
MAX_SEED = 2**32 - 1
MAX_THREADS = 1024

HEAD = """trainer {
    max_step = 30
    SETTING
}
hook optimize = optimizer()
"""


def diagnostics(text: str) -> list[Any]:
    try:
        compile_text(text, "t.pipe")
    except CompileError as exc:
        return list(exc.diagnostics)
    return []


def lint_text(text: str, name: str) -> list[Any]:
    """The lint rules' findings on an error-free file."""
    ctx = run_passes(load_text(text, name), name)
    assert not has_errors(ctx.diagnostics), ctx.diagnostics
    return run_rules(ctx)


def errors(text: str) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in diagnostics(text) if d.severity == "error"]


def trainer(setting: str) -> str:
    return HEAD.replace("SETTING", setting) + "loop { epoch { step { after { optimize } } } }\n"


# 1. seed: NumPy takes 0 .. 2**32 - 1 (accelerate's set_seed seeds it), so a larger seed failed mid-start.
def test_a_seed_past_numpys_range_is_refused_by_check() -> None:
    assert errors(trainer(f"seed = {MAX_SEED}")) == []
    found = errors(trainer(f"seed = {MAX_SEED + 1}"))
    assert [code for code, _ in found] == ["HP003"]
    assert "invalid `seed` of the trainer" in found[0][1] and "4294967295" in found[0][1]
    from hookpipe.compiler.settings import MAX_SEED as bound

    assert bound == MAX_SEED


# 5. threads: torch takes any count, and `threads = 100000` ended the run with SIGSEGV.
def test_a_thread_count_past_the_bound_is_refused_by_check() -> None:
    assert errors(trainer(f"threads = {MAX_THREADS}")) == []
    for bad in (MAX_THREADS + 1, 100000):
        found = errors(trainer(f"threads = {bad}"))
        assert [code for code, _ in found] == ["HP003"], found
        assert "invalid `threads` of the trainer" in found[0][1] and str(MAX_THREADS) in found[0][1]


def test_set_takes_the_same_bounds() -> None:
    from hookpipe.runtime.errors import PlanResolveError
    from hookpipe.runtime.plan.overrides import apply_overrides

    plan = compile_text(trainer("seed = 0"), "t.pipe")
    assert apply_overrides(plan, {"trainer.threads": "8"}).trainer["threads"] == 8
    with pytest.raises(PlanResolveError, match=r"--set trainer.threads='100000': Input should be less "
                                               r"than or equal to 1024"):
        apply_overrides(plan, {"trainer.threads": "100000"})
    with pytest.raises(PlanResolveError, match=r"--set trainer.seed='4294967296': .*4294967295"):
        apply_overrides(plan, {"trainer.seed": "4294967296"})


# 4. A StatsMonitor attached after steps but not before the loop stops the run at step 1.
STATS = """trainer { max_epoch = 1 }
hook optimize = optimizer()
hook st = "hookpipe.runtime.StatsMonitorConfig"(step_log_freq = 2)
LOOP
"""


def test_a_stats_monitor_whose_step_callback_cannot_run_is_hp006() -> None:
    text = STATS.replace("LOOP", "loop { epoch { step { after { optimize -> st } } } }")
    found = diagnostics(text)
    assert [(d.code, d.severity) for d in found] == [("HP006", "error")]
    d = found[0]
    assert d.message.startswith("`st` (StatsMonitor) is attached in `step.after`, whose callback needs its "
                                "`loop.before` callback to have run")
    assert "Please call `on_loop_begin` first." in d.message
    assert (d.span.line, d.span.column) == (4, 43)  # the attachment of `st`
    assert d.help is not None and "`loop { before { st } }`" in d.help


def test_a_stats_monitor_after_epochs_needs_the_loop_and_epoch_before() -> None:
    text = STATS.replace("LOOP", "loop {\n    before { st }\n    epoch {\n        step { after { optimize } }\n        after { st }\n    }\n}")
    found = diagnostics(text)
    assert [d.code for d in found] == ["HP006"]
    assert "needs its `epoch.before` callback" in found[0].message
    assert "`loop { epoch { before { st } } }`" in (found[0].help or "")


def test_a_stats_monitor_with_its_loop_before_is_compiled_and_the_rest_left_to_hp112() -> None:
    # What is only lost (no epoch lines) stays a warning: HP112.
    text = STATS.replace("LOOP", "loop {\n    before { st }\n    epoch { step { after { optimize -> st } } }\n}")
    assert diagnostics(text) == []
    codes = [d.code for d in lint_text(text, "t.pipe")]
    assert codes == ["HP112"]


# 7. HP101 judges a seed hook's own step frequency, as HP102 does.
FREQ = """trainer { max_step = 30 }
hook optimize = optimizer()
hook ev       = "hookpipe.runtime.ValidationHookConfig"(eval_callback = "m.evaluate", step_eval_freq = EVAL)
hook save     = "hookpipe.runtime.SaveCheckpointConfig"(save_root = "runs/fm", save_step_freq = SAVE, \
save_epoch_freq = none, save_when_loop_end = false)
loop { epoch { step { after {
    optimize
    ev
    save ATTACH
} } } }
"""


def hp101(text: str) -> list[Any]:
    return [d for d in lint_text(text, "t.pipe") if d.code == "HP101"]


def test_hp101_sees_a_seed_hooks_own_frequency() -> None:
    found = hp101(FREQ.replace("EVAL", "40").replace("SAVE", "50").replace("ATTACH", ""))
    assert [d.message for d in found] == [
        "`ev` never fires in `step.after`: its own `step_eval_freq = 40` makes its first firing step 40, but the run "
        "has at most 30 steps",
        "`save` never fires in `step.after`: its own `save_step_freq = 50` makes its first firing step 50, but the "
        "run has at most 30 steps",
    ]
    assert [(d.span.line, d.span.column) for d in found] == [(3, 87), (4, 80)]  # at the arguments
    assert found[0].help == "set `step_eval_freq` to at most 30, so that it fires within the run"


def test_hp101_with_both_frequencies_and_none_too_late() -> None:
    assert hp101(FREQ.replace("EVAL", "30").replace("SAVE", "10").replace("ATTACH", "")) == []
    # every 20 steps, and its own 15: first firing at 60, past 30.
    found = hp101(FREQ.replace("EVAL", "10").replace("SAVE", "15").replace("ATTACH", "every 20 steps"))
    assert [d.message for d in found] == [
        "`save` never fires: its first firing is step 60 (with its own `save_step_freq = 15`), but the run has at "
        "most 30 steps"]
    assert hp101(FREQ.replace("EVAL", "10").replace("SAVE", "50").replace("ATTACH", "every 50 steps and at end")) \
        == []


def test_hp101_still_reports_a_written_frequency() -> None:
    found = hp101(FREQ.replace("EVAL", "10").replace("SAVE", "1").replace("ATTACH", "every 50 steps"))
    assert [d.message for d in found] == ["`save` never fires: its first firing is step 50, but the run has at most "
                                          "30 steps"]


# 8. A typo in a quoted hookpipe.runtime path: HP002 statically, not an unknown custom class.
TYPE = """use rt = "hookpipe.runtime.hooks"
trainer { max_step = 30 }
hook optimize = optimizer()
hook clip = TYPE(clip_mode = "norm", max_norm = 0.5)
loop { epoch { step { after { clip -> optimize } } } }
"""


@pytest.mark.parametrize(("written", "help_text"), [
    ('"hookpipe.runtime.GradientClipingHookConfig"', "did you mean `hookpipe.runtime.GradientClippingHookConfig`?"),
    ('"hookpipe.runtime.hooks:GradientClipingHookConfig"',
     "did you mean `hookpipe.runtime.hooks:GradientClippingHookConfig`?"),
    ('"hookpipe.runtime.hooks.grad_clip.GradientClipingHookConfig"',
     "did you mean `hookpipe.runtime.hooks.grad_clip.GradientClippingHookConfig`?"),
    ('"hookpipe.runtime.hook.GradientClippingHookConfig"',
     "did you mean `hookpipe.runtime.hooks.GradientClippingHookConfig`?"),
    ("rt.GradientClipingHookConfig", "did you mean `rt.GradientClippingHookConfig`?"),
])
def test_an_unknown_name_under_hookpipe_runtime_is_hp002(written: str, help_text: str) -> None:
    found = diagnostics(TYPE.replace("TYPE", written))
    assert [(d.code, d.severity) for d in found] == [("HP002", "error")], found
    assert found[0].message.startswith(f"unknown hook type `{written.strip(chr(34))}`: ")
    assert found[0].help == help_text
    assert (found[0].span.line, found[0].span.column) == (4, 13)


@pytest.mark.parametrize("written", [
    '"hookpipe.runtime.GradientClippingHookConfig"', '"hookpipe.runtime.hooks.grad_clip:GradientClippingHookConfig"',
    "rt.GradientClippingHookConfig",
])
def test_the_runtimes_real_names_compile(written: str) -> None:
    assert diagnostics(TYPE.replace("TYPE", written)) == []


def test_paths_into_other_runtime_modules_and_non_config_names_are_left_to_the_import() -> None:
    from hookpipe.compiler.catalog import unknown_runtime_name

    assert unknown_runtime_name("hookpipe.runtime.builtins.swa:SwaHook") is None
    assert unknown_runtime_name("hookpipe.runtime.builtins.nosuch:Thing") is None
    assert unknown_runtime_name("hookpipe.runtime.SaveCheckpoint") is None  # the hook class: a custom hook
    assert unknown_runtime_name("hookpipe.runtime.hooks.checkpoint:SaveCheckpoint") is None
    assert unknown_runtime_name("mypkg.runtime.GradientClipingHookConfig") is None
    assert unknown_runtime_name("hookpipe.runtime.hooks.checkpont:SaveCheckpointConfig") is not None


def test_the_catalogs_runtime_names_are_the_runtimes() -> None:
    # The compiler knows them without importing the runtime; this test imports it to hold them equal.
    from hookpipe.compiler.catalog import HOOKS_EXPORTS, HOOKS_MODULE_CONFIGS, RUNTIME_EXPORTS, RUNTIME_MODULES

    runtime = importlib.import_module("hookpipe.runtime")
    hooks = importlib.import_module("hookpipe.runtime.hooks")
    assert RUNTIME_EXPORTS == set(runtime.__all__)
    assert HOOKS_EXPORTS == set(hooks.__all__)
    assert RUNTIME_MODULES == {m.name for m in pkgutil.iter_modules(runtime.__path__)}
    assert set(HOOKS_MODULE_CONFIGS) == {m.name for m in pkgutil.iter_modules(hooks.__path__)}
    for package in (runtime, hooks):  # every public attribute that is not a module is exported
        assert {n for n, v in vars(package).items()
                if not n.startswith("_") and not isinstance(v, types.ModuleType)} <= set(package.__all__)
    for name, configs in HOOKS_MODULE_CONFIGS.items():
        module = importlib.import_module(f"hookpipe.runtime.hooks.{name}")
        assert configs == {n for n, v in vars(module).items() if n.endswith("Config") and isinstance(v, type)}, name
