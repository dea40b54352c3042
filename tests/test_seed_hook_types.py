"""RoboOrchard Lab's hooks as ``.pipe`` hook types: known by import path, checked like built-ins."""

from __future__ import annotations

import subprocess
import sys

from hookpipe.compiler.catalog import SEED_HOOK_TYPES, seed_hook_type
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.lint.rules import run_rules

SAVE = '"hookpipe.runtime.SaveCheckpointConfig"'


def diagnose(hooks: str, body: str, trainer: str = "max_step = 100") -> list[tuple[str, int, str]]:
    text = (f"trainer {{ {trainer} }}\nhook optimize = optimizer()\n{hooks}\n"
            f"loop {{ epoch {{ step {{ after {{\n    optimize\n{body}\n}} }} }} }}\n")
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    return [(d.code, d.span.line, d.message) for d in [*ctx.diagnostics, *run_rules(ctx)]]


def test_every_seed_hook_type_is_found_by_each_path_that_names_it():
    for hook_type in SEED_HOOK_TYPES:
        module = hook_type.implementation.split(":")[0]
        for path in (f"hookpipe.runtime.{hook_type.name}Config", f"hookpipe.runtime.hooks:{hook_type.name}Config",
                     f"{module}.{hook_type.name}Config"):
            assert seed_hook_type(path) is hook_type
    assert seed_hook_type("hookpipe.runtime.SaveCheckpoint") is None  # the hook class, not its config


def test_the_seed_fields_check_arguments_at_compile_time():
    typo = diagnose(f"hook save = {SAVE}(save_root = \"runs/x\", save_evry = 2)", "    save")
    assert typo == [("HP003", 3, "unknown argument `save_evry` for `SaveCheckpoint`")]
    zero = diagnose(f"hook save = {SAVE}(save_root = \"runs/x\", save_step_freq = 0)", "    save")
    assert zero == [("HP003", 3, "invalid `SaveCheckpoint`: save_step_freq = 0 < 1 is not allowed")]


def test_hp102_reads_the_seed_hooks_own_step_frequency():
    found = diagnose(f"hook save = {SAVE}(save_root = \"runs/x\", save_step_freq = 500)", "    save",
                     trainer="max_step = 1000\n grad_accumulation = 3")
    hp102 = [f for f in found if f[0] == "HP102"]
    assert hp102 and "`save` fires every 500 steps" in hp102[0][2] and hp102[0][1] == 4  # at the argument
    clean = diagnose(f"hook save = {SAVE}(save_root = \"runs/x\", save_step_freq = 600)", "    save",
                     trainer="max_step = 1000\n grad_accumulation = 3")
    assert not [f for f in clean if f[0] == "HP102"]


def test_hp109_applies_to_seed_checkpoints_and_hp108_does_not():
    found = diagnose(f"hook save = {SAVE}(save_root = \"runs/x\", save_step_freq = 10)\n"
                     'use my = "project.eval"\nhook evaluate = validation(callback = my.evaluate)',
                     "    evaluate every 20 steps\n    save on main")
    codes = {c for c, _, _ in found}
    assert "HP109" in codes  # a collective on the main process only
    # It saves at step 10, where validation did not just run, but it ranks by no metric: nothing recorded is stale.
    assert "HP108" not in codes


def test_placement_is_checked_like_a_built_in():
    text = (f"trainer {{ max_step = 10 }}\nhook optimize = optimizer()\nhook save = {SAVE}(save_root = \"r\")\n"
            "loop { epoch { step { before { save }\n after { optimize } } } }\n")
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    assert [(d.code, d.span.line) for d in ctx.diagnostics] == [("HP006", 4)]


def test_the_compiler_side_still_imports_no_torch():
    code = ("import sys, hookpipe.compiler.catalog, hookpipe.compiler.seed_fields; "
            "print(any(m in sys.modules for m in ('torch', 'accelerate', 'robo_orchard_core')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_explain_steps_shows_a_seed_hook_on_the_steps_its_own_frequency_lets_it_act():
    """`save_step_freq = 4` attached every step: the hook saves on steps 4 and 8, not on every step."""
    from hookpipe.compiler import compile_text
    from hookpipe.compiler.schedule import simulate

    text = (f"trainer {{ max_step = 10 }}\nhook optimize = optimizer()\n"
            f'hook save = {SAVE}(save_root = "runs/x", save_step_freq = 4, save_epoch_freq = none)\n'
            "loop { epoch { step { after {\n    optimize -> save\n} } } }\n")
    plan = compile_text(text, "t.pipe")
    acting = [f.step + 1 for f in simulate(plan, 10, 10, acting=True) if f.hook == "save"]
    assert acting == [4, 8]
    assert len([f for f in simulate(plan, 10, 10) if f.hook == "save"]) == 10  # the callback still runs every step
