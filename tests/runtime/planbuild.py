"""Build Plans by hand for runtime tests (the compiler is tested on its own)."""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.plan import Effects, Guard, HookSpec, PhasePlan, Plan, PlanEntry, callback_name, phase_order
from hookpipe.compiler.settings import TrainerSettings
from hookpipe.dsl.span import Span

SOURCE = "test.pipe"
HOOKLIB = "tests.runtime.hooklib"


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
    until: int | None = None,
) -> tuple[tuple[str, str], PlanEntry]:
    guard = Guard(unit, every, every if start is None else start, at_end, until) if unit else Guard()
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


def _tiny_factories(n: int, lr: float | str) -> dict[str, tuple[str, dict[str, Any]]]:
    """What most runtime tests train: hooklib's tiny model on ``n`` samples in batches of 2, SGD, MSE.

    ``n`` defaults to the loader's own default (10) in both forms below.
    """
    return {
        "model": (f"{HOOKLIB}:tiny_model", {}),
        "dataloader": (f"{HOOKLIB}:tiny_loader", {"n": n, "batch_size": 2}),
        "optimizer": ("torch.optim.SGD", {"lr": lr}),
        "batch_processor": (f"{HOOKLIB}:MSE", {}),
    }


def tiny_trainer(*, n: int = 10, lr: float = 0.01, **settings: Any) -> dict[str, Any]:
    """A Plan's trainer block for the tiny run, plus ``settings`` (which may replace a factory).

    Example:
        >>> tiny_trainer(n=16, max_step=3)["dataloader"]
        {'$call': 'tests.runtime.hooklib:tiny_loader', 'args': {'n': 16, 'batch_size': 2}}
    """
    factories = {key: {"$call": path, "args": args} for key, (path, args) in _tiny_factories(n, lr).items()}
    return {**factories, **settings}


def tiny_trainer_text(*, n: int = 10, lr: float | str = 0.01, **settings: object) -> str:
    """The same trainer as a ``.pipe`` block, for a file that has ``use h = "tests.runtime.hooklib"``.

    A setting is a Python int, float or bool, or ``.pipe`` source text (``'"logs"'``,
    ``"h.NanAt(steps = 2)"``, or a placeholder the test replaces later). They come in
    ``TrainerSettings``' field order (so a test's line numbers do not depend on the
    call), aligned as ``hookpipe fmt`` aligns them; the block ends with a newline.

    Example:
        >>> print(tiny_trainer_text(n=8, max_step=2), end="")
        trainer {
            max_step        = 2
            model           = h.tiny_model()
            dataloader      = h.tiny_loader(n = 8, batch_size = 2)
            optimizer       = "torch.optim.SGD"(lr = 0.01)
            batch_processor = h.MSE()
        }
    """
    values: dict[str, str] = {key: _call_text(path, args) for key, (path, args) in _tiny_factories(n, lr).items()}
    values.update((key, _value_text(value)) for key, value in settings.items())
    ordered = [k for k in TrainerSettings.model_fields if k in values]
    assert len(ordered) == len(values), f"not trainer settings: {sorted(set(values) - set(ordered))}"
    width = max(map(len, ordered))
    return "trainer {\n" + "".join(f"    {k.ljust(width)} = {values[k]}\n" for k in ordered) + "}\n"


def _call_text(path: str, args: dict[str, Any]) -> str:
    callee = f"h.{path.split(':')[1]}" if path.startswith(f"{HOOKLIB}:") else f'"{path}"'
    return f"{callee}({', '.join(f'{k} = {_value_text(v)}' for k, v in args.items())})"


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


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
