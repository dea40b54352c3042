"""Build Plans by hand for runtime tests (the compiler is tested on its own)."""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.plan import Effects, Guard, HookSpec, PhasePlan, Plan, PlanEntry, callback_name, phase_order
from hookpipe.dsl.span import Span

SOURCE = "test.pipe"


def span(line: int, file: str = SOURCE) -> Span:
    return Span(file, line, 5, line, 20)


def hook(name: str, type: str, args: dict[str, Any] | None = None, *, builtin: bool = False, line: int = 1) -> HookSpec:
    return HookSpec(name, type, builtin, dict(args or {}), Effects(), span(line))


def entry(
    hook: str,
    scope: str,
    phase: str,
    *,
    unit: str | None = None,
    every: int = 1,
    start: int | None = None,
    at_end: bool = False,
    main: bool = False,
    line: int = 1,
) -> tuple[tuple[str, str], PlanEntry]:
    guard = Guard(unit, every, every if start is None else start, at_end) if unit else Guard()
    return (scope, phase), PlanEntry(hook, callback_name(scope, phase), guard, main, span(line))


def plan(
    trainer: dict[str, Any],
    hooks: list[HookSpec],
    entries: list[tuple[tuple[str, str], PlanEntry]],
    *,
    source: str = SOURCE,
    name: str | None = "test",
) -> Plan:
    by_phase: dict[tuple[str, str], list[PlanEntry]] = {}
    for key, e in entries:
        by_phase.setdefault(key, []).append(e)
    phases = tuple(PhasePlan(s, p, tuple(by_phase.get((s, p), ()))) for s, p in phase_order())
    return Plan(name, source, dict(trainer), tuple(hooks), phases)


DIGITS_TRAINER = {
    "max_epoch": 5,
    "grad_accumulation": 1,
    "mixed_precision": "no",
    "seed": 0,
    "model": {"$call": "examples.digits.train:build_model", "args": {"hidden": 64}},
    "dataloader": {"$call": "examples.digits.train:train_loader", "args": {"batch_size": 32}},
    "optimizer": {"$call": "torch.optim.AdamW", "args": {"lr": 0.001}},
    "lr_scheduler": {"$call": "torch.optim.lr_scheduler.StepLR", "args": {"step_size": 200, "gamma": 0.5}},
    "batch_processor": {"$call": "examples.digits.train:Processor", "args": {}},
}


def digits_plan(checkpoint_dir: str = "runs/digits", source: str = "examples/digits/train.pipe") -> Plan:
    """What the compiler makes of examples/digits/train.pipe (lines as in that file)."""
    return plan(
        DIGITS_TRAINER,
        [
            hook("clip", "grad_clip", {"mode": "norm", "max_norm": 1.0}, builtin=True, line=17),
            hook("optimize", "optimizer", {}, builtin=True, line=18),
            hook("evaluate", "validation", {"callback": {"$ref": "examples.digits.train:evaluate"}}, builtin=True, line=19),
            hook("save", "checkpoint", {"dir": checkpoint_dir, "keep_last": 3}, builtin=True, line=20),
            hook("speed", "examples.digits.train:Throughput", {"window": 50}, line=21),
        ],
        [
            entry("evaluate", "loop", "before", line=26),
            entry("clip", "step", "after", line=30),
            entry("optimize", "step", "after", line=30),
            entry("evaluate", "step", "after", unit="step", every=200, line=31),
            entry("save", "step", "after", unit="step", every=500, at_end=True, line=32),
            entry("speed", "step", "after", unit="step", every=50, main=True, line=33),
            entry("evaluate", "epoch", "after", unit="epoch", every=1, line=36),
        ],
        source=source,
        name="digits",
    )
