"""The seed's ValidationHookConfig and GradientClippingHookConfig as ``.pipe`` hook types.

The compiler knows them as it knows the other seed hooks (catalog ``SEED_HOOK_TYPES``):
their fields, their effects (clipping writes the gradients the optimizer consumes,
so HP005 orders it as the ``grad_clip`` built-in), their phases and their step
frequency (HP102).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookpipe.compiler.catalog import BUILTINS, seed_hook_type
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.compiler.seed_fields import GradientClippingHookFields, ValidationHookFields
from hookpipe.diagnostics import has_errors
from hookpipe.lint.rules import run_rules

VALIDATION = '"hookpipe.runtime.ValidationHookConfig"'
CLIP = '"hookpipe.runtime.hooks.GradientClippingHookConfig"'
SEED_CLIP = f'{CLIP}(clip_mode = "norm", max_norm = 1.0)'
BUILTIN_CLIP = 'grad_clip(mode = "norm", max_norm = 1.0)'
EVALUATE = 'use my = "project.eval"\n'


def diagnose(hooks: str, step_after: str, trainer: str = "max_step = 100", more: str = "") -> list[tuple[str, str]]:
    """``(code, message)`` of compiling and linting a file with ``hooks`` and a ``step.after`` block."""
    text = (f"trainer {{ {trainer} }}\nhook optimize = optimizer()\n{hooks}\n"
            f"loop {{ epoch {{ step {{ after {{ {step_after} }} }}\n{more} }} }}\n")
    ctx = run_passes(load_text(text, "t.pipe"), "t.pipe")
    rules = run_rules(ctx) if not has_errors(ctx.diagnostics) else []  # as `hookpipe lint` does
    return [(d.code, d.message) for d in [*ctx.diagnostics, *rules]]


@pytest.mark.parametrize("path", [
    "hookpipe.runtime.ValidationHookConfig", "hookpipe.runtime.hooks:ValidationHookConfig",
    "hookpipe.runtime.hooks.validation.ValidationHookConfig", "hookpipe.runtime.GradientClippingHookConfig",
    "hookpipe.runtime.hooks.grad_clip:GradientClippingHookConfig",
])
def test_both_configs_are_seed_hook_types_by_every_path(path: str) -> None:
    found = seed_hook_type(path)
    assert found is not None and found.seed_class and path.endswith(f"{found.name}Config")


@pytest.mark.parametrize("clip", [SEED_CLIP, BUILTIN_CLIP])
def test_clipping_after_the_optimizer_is_hp005_like_the_built_in(clip: str) -> None:
    assert diagnose(f"hook clip = {clip}", "clip -> optimize") == []
    after = diagnose(f"hook clip = {clip}", "optimize -> clip")
    assert after == [("HP005", "effect order violated in step.after: `clip` writes `grads`, so it must run before "
                               "`optimize`, which consumes it")]


def test_the_seed_clip_has_the_built_ins_effects_and_acts_on_updates_only() -> None:
    seed = seed_hook_type("hookpipe.runtime.GradientClippingHookConfig")
    assert seed is not None and seed.effects == BUILTINS["grad_clip"].effects and seed.update_only
    assert seed.phases == ("step.after",) and not seed.collective


@pytest.mark.parametrize(("args", "message"), [
    ('clip_mode = "norm"', "max_norm must be specified and non-negative when clip_mode is 'norm'."),
    ('clip_mode = "value", clip_value = -1.0', "clip_value must be specified and non-negative when clip_mode is "
                                               "'value'."),
    ('clip_mode = "norm", max_norm = 1.0, max_nrom = 2.0', "unknown argument `max_nrom` for `GradientClippingHook`"),
])
def test_clip_arguments_are_checked_at_compile_time(args: str, message: str) -> None:
    found = diagnose(f"hook clip = {CLIP}({args})", "clip -> optimize")
    assert [code for code, _ in found] == ["HP003"] and message in found[0][1]


def test_a_limit_of_zero_is_the_seeds_to_accept() -> None:
    assert diagnose(f'hook clip = {CLIP}(clip_mode = "value", clip_value = 0.0)', "clip -> optimize") == []
    assert [c for c, _ in diagnose(f'hook clip = {CLIP}(clip_mode = "value", clip_value = -0.5)',
                                   "clip -> optimize")] == ["HP003"]


@pytest.mark.parametrize(("args", "message"), [
    ("eval_callback = my.evaluate", "either `step_eval_freq` or `epoch_eval_freq` must be specified."),
    ("eval_callback = my.evaluate, step_eval_freq = 0", "step_eval_freq = 0 < 1 is not allowed"),
    ("eval_callback = my.evaluate, epoch_eval_frq = 1", "unknown argument `epoch_eval_frq` for `ValidationHook`"),
    ("step_eval_freq = 2", "eval_callback"),
])
def test_validation_arguments_are_checked_at_compile_time(args: str, message: str) -> None:
    found = diagnose(f"{EVALUATE}hook ev = {VALIDATION}({args})", "optimize -> ev")
    assert [code for code, _ in found] == ["HP003"] and message in found[0][1]


def test_validation_reads_params_and_writes_metrics_so_it_runs_after_the_update() -> None:
    hooks = f"{EVALUATE}hook ev = {VALIDATION}(eval_callback = my.evaluate, step_eval_freq = 10)"
    assert diagnose(hooks, "optimize -> ev") == []
    codes = [code for code, _ in diagnose(hooks, "ev -> optimize")]
    assert codes == ["HP005"]  # it reads params, which the optimizer writes


def test_its_metrics_can_be_monitored() -> None:
    hooks = (f"{EVALUATE}hook ev = {VALIDATION}(eval_callback = my.evaluate, epoch_eval_freq = 1)\n"
             'hook stop = early_stop(monitor = "ev.mean_logit")')
    assert diagnose(hooks, "optimize", more="after { ev -> stop }") == []


def test_validation_attaches_where_the_seed_registers_it() -> None:
    hooks = f"{EVALUATE}hook ev = {VALIDATION}(eval_callback = my.evaluate, step_eval_freq = 2, epoch_eval_freq = 1)"
    assert diagnose(hooks, "optimize -> ev", more="after { ev }") == []
    # eval_at_begin registers a callback before the loop too: not attached there, it would not run (HP112)
    begin = hooks.replace("epoch_eval_freq = 1)", "epoch_eval_freq = 1, eval_at_begin = true)")
    assert diagnose(begin, "optimize -> ev", more="after { ev }") == [
        ("HP112", "`ev` (ValidationHook) registers callbacks in `loop.before`, where it is not attached: it does not "
                  "run")]
    assert [c for c, _ in diagnose(hooks, "optimize", more="before { ev }")] == ["HP006"]  # no on_epoch before


def test_hp102_reads_step_eval_freq() -> None:
    hooks = f"{EVALUATE}hook ev = {VALIDATION}(eval_callback = my.evaluate, step_eval_freq = 500)"
    found = diagnose(hooks, "optimize -> ev", trainer="max_step = 1000\n grad_accumulation = 3")
    assert [c for c, _ in found] == ["HP102"] and "`ev` fires every 500 steps" in found[0][1]
    assert diagnose(hooks.replace("500", "600"), "optimize -> ev",
                    trainer="max_step = 1000\n grad_accumulation = 3") == []


def test_validation_is_a_collective() -> None:
    hooks = f"{EVALUATE}hook ev = {VALIDATION}(eval_callback = my.evaluate, step_eval_freq = 2)"
    assert "HP109" in {c for c, _ in diagnose(hooks, "optimize -> ev on main")}


@pytest.mark.parametrize(("fields", "config"), [
    (GradientClippingHookFields, "hookpipe.runtime.hooks.grad_clip:GradientClippingHookConfig"),
    (ValidationHookFields, "hookpipe.runtime.hooks.validation:ValidationHookConfig"),
])
def test_the_compilers_fields_are_the_runtime_configs(fields: Any, config: str) -> None:
    """Names and defaults agree, so what compiles is what the runtime builds."""
    from hookpipe.runtime.plan.resolve import import_path

    runtime = {n: f.get_default() for n, f in import_path(config).model_fields.items() if n != "class_type"}
    assert runtime == {n: f.get_default() for n, f in fields.model_fields.items()}


def _pipe(tmp_path: Path, ev: str, attachments: str) -> str:
    return f'''use probes = "examples.probes"
use me = "tests.test_seed_validation_types"
trainer {{
    max_epoch       = 2
    model           = probes.build_model(sizes = [8, 4, 1])
    optimizer       = "torch.optim.SGD"(lr = 0.01)
    dataloader      = probes.regression_loader(batch_size = 16, size = 128)
    batch_processor = "examples.probes:Regression"()
}}
hook optimize = optimizer()
hook clip     = {SEED_CLIP}
hook ev       = {VALIDATION}(eval_callback = me.evaluate_model, {ev})
loop {{ {attachments} }}
'''


def evaluate_model(model: Any) -> dict[str, float]:
    """The seed's convention: called with the model."""
    import torch

    assert isinstance(model, torch.nn.Module) and not model.training
    return {"weight_sum": float(sum(p.detach().sum() for p in model.parameters()))}


def _seed_api_evaluations(**freqs: int) -> list[int]:
    """The steps each evaluation of a Python-built trainer is labelled with (the seed API's behaviour)."""
    import torch
    from accelerate import Accelerator

    from examples.probes import Regression, build_model, regression_loader
    from hookpipe.runtime import HookBasedTrainer, ValidationHookConfig

    model = build_model([8, 4, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    trainer = HookBasedTrainer(accelerator=Accelerator(cpu=True), model=model,
                               dataloader=regression_loader(batch_size=16, size=128), optimizer=optimizer,
                               lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=1000),
                               batch_processor=Regression(), max_epoch=2,
                               validation=ValidationHookConfig(eval_callback=evaluate_model, **freqs))
    hook = next(ctx.after_info.owner for ctx in trainer.hooks.hooks["on_epoch"].contexts
                if ctx.after_info is not None and type(ctx.after_info.owner).__name__ == "ValidationHook")
    trainer()
    return [done for done, _ in hook.history]


def test_a_pipe_run_evaluates_when_the_seed_api_does(tmp_path: Path) -> None:
    import hookpipe
    from hookpipe.runtime import HookBasedTrainer

    text = _pipe(tmp_path, "step_eval_freq = 4, epoch_eval_freq = 2",
                 "epoch { step { after { clip -> optimize -> ev } }\n after { ev } }")
    trainer = HookBasedTrainer.from_plan(hookpipe.compile_text(text, str(tmp_path / "v.pipe")))
    trainer()
    done = [d for d, _ in trainer.hook_instances["ev"].history]
    assert done == _seed_api_evaluations(step_eval_freq=4, epoch_eval_freq=2) == [4, 8, 12, 16, 16]
