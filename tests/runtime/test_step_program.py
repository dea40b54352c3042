"""The fused step (hookpipe.runtime.loop.step_program): the seed's step, written out, with nothing changed.

The scopes' order, ids, failure rules and bitwise results are covered by
test_seed_api, test_plan_execution and test_fastpath, which run through it; these
tests pin what writing the step out could get wrong: which argument object each
scope gets and what it holds, registrations changed mid-run, processors that
bring their own ``__call__``, channels of other classes, readable tracebacks.
"""

from __future__ import annotations

import dataclasses
import traceback
from typing import Any

import pytest
import torch
from accelerate import Accelerator
from robo_orchard_core.utils.hook import HookContextChannel

from hookpipe.runtime import HookBasedTrainer, HookContext, HookFailure, PipelineHookArgs, PipelineHooks
from hookpipe.runtime.loop.batch_processor import SimpleBatchProcessor
from tests.runtime import hooklib
from tests.runtime.hooklib import MSE, recorded_seed_run, tiny_loader, tiny_model
from tests.runtime.planbuild import entry, hook, plan

STEP_CHANNELS = ("on_step", "on_batch", "on_model_forward", "on_model_backward")


def _trainer(hooks: Any = None, *, batch_processor: Any = None, max_step: int = 3) -> HookBasedTrainer:
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return HookBasedTrainer(
        accelerator=Accelerator(cpu=True),
        model=model,
        dataloader=tiny_loader(n=10, batch_size=2),
        batch_processor=batch_processor or MSE(),
        optimizer=optimizer,
        lr_scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=100),
        hooks=hooks,
        max_step=max_step,
    )


class Doubled(MSE):
    """MSE on a transformed batch: forward args must carry the transformed one."""

    def __init__(self) -> None:
        super().__init__()
        self.transform = lambda batch: (batch[0] * 2, batch[1])


def test_each_scope_gets_its_own_argument_object_with_the_seeds_fields() -> None:
    seen: dict[tuple[str, str], list[PipelineHookArgs]] = {}
    hooks = PipelineHooks()
    for channel in STEP_CHANNELS:
        hooks.register_hook(channel, HookContext.from_callable(
            before=lambda a, c=channel: seen.setdefault((c, "begin"), []).append(a),
            after=lambda a, c=channel: seen.setdefault((c, "end"), []).append(a),
        ))
    trainer = _trainer(hooks, batch_processor=Doubled(), max_step=2)
    trainer()
    for step in range(2):
        objects = {c: seen[(c, "begin")][step] for c in STEP_CHANNELS}
        assert len({id(a) for a in objects.values()}) == 4  # fresh per scope, as the seed's
        assert all(seen[(c, "end")][step] is objects[c] for c in STEP_CHANNELS)  # before and after share one
        step_args, batch_args, fwd, bwd = (objects[c] for c in STEP_CHANNELS)
        assert {a.global_step_id for a in objects.values()} == {step}
        assert step_args.batch is None
        raw, transformed = batch_args.batch, fwd.batch
        assert torch.equal(transformed[0], raw[0] * 2) and bwd.batch is transformed
        assert fwd.model_outputs is bwd.model_outputs is batch_args.model_outputs is step_args.model_outputs
        assert fwd.reduce_loss is bwd.reduce_loss is step_args.reduce_loss
        assert step_args.optimizer is trainer.optimizer and step_args.run is trainer.run


@pytest.mark.parametrize("processor", ["inlined", "own __call__"])
def test_the_argument_objects_hold_the_reference_paths_fields_in_field_order(
        monkeypatch: pytest.MonkeyPatch, processor: str) -> None:
    """The generated step fills each argument object field by field; ``vars()`` shows what the reference's dicts do."""
    from hookpipe.runtime.loop.step_program import REFERENCE_ENV

    def shown(value: Any) -> Any:
        return value if value is None or isinstance(value, int) else type(value).__name__

    def run() -> list[tuple[str, str, list[tuple[str, Any]]]]:
        seen: list[tuple[str, str, list[tuple[str, Any]]]] = []
        hooks = PipelineHooks()
        for channel in STEP_CHANNELS:
            hooks.register_hook(channel, HookContext.from_callable(
                before=lambda a, c=channel: seen.append((c, "begin", [(k, shown(v)) for k, v in vars(a).items()])),
                after=lambda a, c=channel: seen.append((c, "end", [(k, shown(v)) for k, v in vars(a).items()])),
            ))
        _trainer(hooks, batch_processor=Doubled() if processor == "inlined" else OwnCall(), max_step=2)()
        return seen

    generated = run()
    monkeypatch.setenv(REFERENCE_ENV, "1")
    assert run() == generated
    assert len(generated) == 2 * 8
    assert [k for k, _ in generated[0][2]] == [f.name for f in dataclasses.fields(PipelineHookArgs)]
    step_end = dict(next(fields for c, when, fields in generated if (c, when) == ("on_step", "end")))
    assert step_end["global_step_id"] == 0 and step_end["reduce_loss"] == "Tensor" and step_end["batch"] is None


def _static_call(pipeline_hooks: PipelineHooks, on_batch_hook_args: PipelineHookArgs, model: Any) -> None:
    hooklib.CallMSE.__call__(hooklib.CallMSE(), pipeline_hooks, on_batch_hook_args, model)


class StaticCall(hooklib.CallMSE):
    """A processor whose ``__call__`` is a staticmethod (no ``self``): the step must call the instance."""

    __call__ = staticmethod(_static_call)  # type: ignore[assignment]


def test_a_processor_whose_call_is_not_a_function_is_called_as_the_instance(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from hookpipe.runtime.loop.step_program import SHOW_ENV

    def trained(processor: Any) -> list[torch.Tensor]:
        trainer = _trainer(batch_processor=processor, max_step=3)
        trainer()
        return [p.detach().clone() for p in trainer.model.parameters()]

    monkeypatch.setenv(SHOW_ENV, "1")
    function, descriptor = trained(hooklib.CallMSE()), trained(StaticCall())
    function_step, descriptor_step = capsys.readouterr().err.split(f"# {SHOW_ENV}:")[1:]
    assert "bp_call(bp, pipeline_hooks=hooks" in function_step
    assert "bp(pipeline_hooks=hooks" in descriptor_step and "bp_call" not in descriptor_step
    assert all(torch.equal(p, q) for p, q in zip(function, descriptor))


def test_a_batch_hook_that_replaces_the_batch_feeds_the_forward() -> None:
    forwarded: list[Any] = []

    def swap(args: PipelineHookArgs) -> None:
        x, y = args.batch
        args.batch = (torch.zeros_like(x), y)

    hooks = PipelineHooks()
    hooks.register_hook("on_batch", HookContext.from_callable(before=swap))
    hooks.register_hook("on_model_forward", HookContext.from_callable(before=lambda a: forwarded.append(a.batch)))
    _trainer(hooks, max_step=2)()
    assert len(forwarded) == 2 and all(float(x.abs().sum()) == 0.0 for x, _ in forwarded)


def test_a_hook_registered_mid_run_fires_from_the_next_step_and_a_removed_one_stops() -> None:
    late: list[int] = []
    handles: list[Any] = []
    hooks = PipelineHooks()

    def register(args: PipelineHookArgs) -> None:
        if args.global_step_id == 1:
            handles.append(hooks_target.register_hook(
                "on_batch", HookContext.from_callable(after=lambda a: late.append(a.global_step_id))))
        if args.global_step_id == 3:
            handles.pop()()  # the handle, called, unregisters

    hooks.register_hook("on_step", HookContext.from_callable(after=register))
    trainer = _trainer(hooks, max_step=6)
    hooks_target = trainer.hooks  # the trainer's merged channels, as a seed hook holding them would
    trainer()
    assert late == [2, 3]


class OwnCall(SimpleBatchProcessor):
    """A processor with its own ``__call__``: the seed's contract (it opens the model scopes)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def forward(self, model: Any, batch: Any) -> tuple[Any, torch.Tensor]:
        x, y = batch
        out = model(x)
        return out, torch.nn.functional.mse_loss(out, y)

    def __call__(self, pipeline_hooks: Any, on_batch_hook_args: PipelineHookArgs, model: Any) -> None:
        self.calls.append(on_batch_hook_args.global_step_id)
        super().__call__(pipeline_hooks, on_batch_hook_args, model)


def test_a_processor_with_its_own_call_is_called_with_the_hooks_and_opens_the_model_scopes() -> None:
    forwards: list[int] = []
    hooks = PipelineHooks()
    hooks.register_hook("on_model_forward", HookContext.from_callable(after=lambda a: forwards.append(a.global_step_id)))
    processor = OwnCall()
    trainer = _trainer(hooks, batch_processor=processor, max_step=3)
    trainer()
    assert processor.calls == [0, 1, 2] and forwards == [0, 1, 2]
    assert trainer.last_loss is not None and not trainer.last_loss.requires_grad


class CountingChannel(HookContextChannel[PipelineHookArgs]):
    """A channel of another class: entered with ``with``, as the seed enters every channel."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.entered = 0

    def begin(self, arg: PipelineHookArgs) -> Any:
        self.entered += 1
        return super().begin(arg)


def test_a_channel_of_another_class_is_entered_through_its_begin() -> None:
    trainer = _trainer(max_step=4)
    channel = CountingChannel("on_batch")
    ids: list[int] = []
    channel.register(HookContext.from_callable(before=lambda a: ids.append(a.global_step_id)))
    trainer.hooks.hooks["on_batch"] = channel
    trainer()
    assert channel.entered == 4 and ids == [0, 1, 2, 3]


def test_a_failing_hook_in_the_fused_step_shows_a_readable_line_in_its_traceback() -> None:
    p = plan(
        {
            "model": {"$call": "tests.runtime.hooklib:tiny_model", "args": {}},
            "dataloader": {"$call": "tests.runtime.hooklib:tiny_loader", "args": {"n": 10, "batch_size": 2}},
            "optimizer": {"$call": "torch.optim.SGD", "args": {"lr": 0.01}},
            "batch_processor": {"$call": "tests.runtime.hooklib:MSE", "args": {}},
            "cpu": True,
            "max_step": 5,
        },
        [hook("boom", "tests.runtime.hooklib:Boom", {"at": 2}, line=3)],
        [entry("boom", "step", "after", line=7)],
    )
    hooklib.LOG.clear()
    trainer = HookBasedTrainer.from_plan(p)
    with pytest.raises(HookFailure) as info:
        trainer()
    assert (info.value.hook, info.value.global_step, info.value.line) == ("boom", 2, 7)
    text = "".join(traceback.format_exception(info.value.__cause__))
    assert "# boom.on_step_end" in text  # the generated source is in linecache, so the frame shows its line


def test_registrations_elsewhere_do_not_rewrite_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from hookpipe.runtime.loop import step_program

    written: list[int] = []
    original = step_program._Writer.build

    def counting_build(self: Any) -> Any:
        written.append(1)
        return original(self)

    elsewhere = PipelineHooks()  # e.g. a hook that builds and fills its own containers every step
    hooks = PipelineHooks()
    hooks.register_hook("on_step", HookContext.from_callable(
        after=lambda a: elsewhere.register_hook("on_step", HookContext.from_callable(after=print))))
    monkeypatch.setattr(step_program._Writer, "build", counting_build)
    _trainer(hooks, max_step=5)()
    assert len(written) == 1 and len(elsewhere.hooks["on_step"]) == 5


# -- the generated step against the interpreted reference ---------------------------


def _seed_run(accumulation: int, with_hooks: bool) -> tuple[list[torch.Tensor], list[Any]]:
    return recorded_seed_run(MSE(), accumulation, with_hooks)


def _plan_run(tmp_path: Any, accumulation: int) -> tuple[list[torch.Tensor], list[Any]]:
    import hookpipe
    from tests.runtime.planbuild import tiny_trainer_text

    text = 'use h = "tests.runtime.hooklib"\n' + tiny_trainer_text(n=10, max_step=13, grad_accumulation=accumulation) + """\
hook clip     = grad_clip(mode = "value", clip_value = 0.01)
hook optimize = optimizer()
hook fired    = h.Recorder(tag = "fired")
hook each     = h.Recorder(tag = "each")
loop { epoch { step {
    before { each }
    after { clip -> optimize -> fired every 2 updates }
} } }
"""
    hooklib.LOG.clear()
    trainer = HookBasedTrainer.from_plan(hookpipe.compile_text(text, str(tmp_path / "ref.pipe")))
    trainer()
    return [p.detach().clone() for p in trainer.model.parameters()], list(hooklib.LOG)


@pytest.mark.parametrize("accumulation", [1, 3])
@pytest.mark.parametrize("with_hooks", [False, True])
def test_the_generated_step_and_the_reference_path_train_bitwise_alike(
        monkeypatch: pytest.MonkeyPatch, accumulation: int, with_hooks: bool) -> None:
    from hookpipe.runtime.loop.step_program import REFERENCE_ENV

    generated, generated_log = _seed_run(accumulation, with_hooks)
    monkeypatch.setenv(REFERENCE_ENV, "1")
    reference, reference_log = _seed_run(accumulation, with_hooks)
    assert all(torch.equal(p, q) for p, q in zip(generated, reference))
    assert generated_log == reference_log and (len(generated_log) == 13 * 9) is with_hooks
    assert not all(torch.equal(p, q) for p, q in zip(generated, [p.detach() for p in tiny_model().parameters()]))


@pytest.mark.parametrize("accumulation", [1, 3])
def test_a_plan_s_guarded_step_and_the_reference_path_agree(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                                             accumulation: int) -> None:
    from hookpipe.runtime.loop.step_program import REFERENCE_ENV

    generated, generated_log = _plan_run(tmp_path, accumulation)
    monkeypatch.setenv(REFERENCE_ENV, "1")
    reference, reference_log = _plan_run(tmp_path, accumulation)
    assert all(torch.equal(p, q) for p, q in zip(generated, reference))
    assert generated_log == reference_log
    assert any(tag == "fired" for tag, *_ in generated_log)


def test_the_generated_step_can_be_shown_and_touches_no_private_name_of_another_module(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import re

    from hookpipe.runtime.loop.step_program import SHOW_ENV

    monkeypatch.setenv(SHOW_ENV, "1")
    _seed_run(3, with_hooks=True)
    _trainer(batch_processor=OwnCall(), max_step=1)()  # the processor's own __call__: the seed's contract
    shown = capsys.readouterr().err
    sources = shown.split(f"# {SHOW_ENV}:")[1:]
    assert len(sources) == 2 and all("def run_epoch(batches, ea):" in s for s in sources)
    assert "backward(loss)" in sources[0] and "bp_call(bp, pipeline_hooks=hooks" in sources[1]
    # No `obj._name` (dunders such as the argument objects' own `__dict__` are Python's protocol, not private).
    assert re.findall(r"\._(?!_)\w+", shown) == []
    assert "__dict__" in shown


def test_the_step_writer_reads_no_private_name_of_what_it_drives() -> None:
    import inspect
    import re

    from hookpipe.runtime.loop import step_program

    source = inspect.getsource(step_program)
    # Only the writer's own fields (`self._x`); never `loop._x`, `bp._x`, `ch._x`, `setup.x._y`...
    assert [m for m in re.findall(r"(\w+)\._(?!_)\w+", source) if m != "self"] == []
