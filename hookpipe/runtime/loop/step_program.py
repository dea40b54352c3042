"""A run's batch loop as one generated function: the steps of an epoch, fused.

The seed's step is four nested ``with`` scopes (``on_step``, ``on_batch``,
``on_model_forward``, ``on_model_backward``), four fresh argument objects, the batch
processor's ``__call__``, accelerate's ``accumulate`` context and the progress
bookkeeping around them: about seventy Python calls per step before any hook or
model runs. On a GPU a small model's step is a few hundred microseconds of
asynchronous kernel launches, so that fixed cost is what a user pays.

Everything that shapes a step is fixed when the run starts: which scopes have
callbacks (and, for a Plan, their guards), which batch processor runs, whether
accelerate's per-step calls reduce to plain PyTorch (:mod:`~hookpipe.runtime.fastpath`), the run's
limits. :func:`compile_epoch` writes the loop over one epoch's batches out for
exactly that run, with the same writer as the Plan's phases
(:class:`~hookpipe.runtime.dispatch.phases.PhaseSource`)::

    def run_epoch(batches, ea):
        ran = 0
        for batch in batches:
            with accumulate(model):                     # accelerator.accumulate (one process: its work alone)
                g = state.global_step_id
                c.global_step = g
                ...                                     # the guards' counters
                a0 = new(Args)                          # on_step's argument, field by field
                a0.accelerator = base_accelerator
                a0.epoch_id = state.epoch_id
                ...
                try:
                    outputs, loss = forward(model, batch)   # the batch processor, inlined
                    reduce = loss
                    backward(loss)
                    a0.model_outputs = outputs
                    a0.reduce_loss = reduce
                    loop.pending_loss = reduce
                    state.step_done = True
                except BaseException as exc:
                    ch0.fail(a0, exc)                   # the scope's failure rule
                try:
                    f1(a0)  # clip.on_step_end
                    f2(a0)  # optimize.on_step_end
                except RunFailure: ...
            ran += 1
            ...                                         # progress, stop requests, limits

A scope with no callbacks costs nothing: no argument object, no ``try``. The
failure rules are the channels' own (:meth:`PlanChannel.fail
<hookpipe.runtime.dispatch.channels.PlanChannel.fail>`, :meth:`Channel.fail
<hookpipe.runtime.dispatch.channels.Channel.fail>`), and the argument objects hold what the
seed's would. A batch processor that overrides ``__call__`` is called as the
seed calls it, and a channel of another class is entered with ``with``. Seed
channels' registrations are captured when the function is written; one that
changes them mid-run (a hook registering another) takes effect from the next
step, when :func:`compile_epoch` is asked again (``REBUILD``).
"""

from __future__ import annotations

import inspect
import os
import sys
from dataclasses import dataclass, fields
from types import FunctionType
from typing import Any, Callable, Iterator, Protocol, Sequence

from accelerate import Accelerator

from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.dispatch.channels import REGISTRATIONS, Channel, Counters, PlanChannel
from hookpipe.runtime.dispatch.phases import PhaseSource
from hookpipe.runtime.distributed.signals import StopRequest
from hookpipe.runtime.fastpath import PlainPath, fast_path
from hookpipe.runtime.hooks.mixin import PipelineHooks
from hookpipe.runtime.loop.batch_processor import (
    BatchProcessorMixin,
    LossNotProvidedError,
    SimpleBatchProcessor,
    forward_result_error,
    is_identity,
)
from hookpipe.runtime.loop.progress import TrainerProgressState
from hookpipe.runtime.run_context import RunContext
from hookpipe.runtime.tracking.loss_meter import LossMeter
from hookpipe.runtime.tracking.progress_display import ProgressDisplay

__all__ = ["DONE", "ENDED", "REBUILD", "REFERENCE_ENV", "SHOW_ENV", "EpochFn", "LoopControl", "StepSetup",
           "compile_epoch", "reference_epoch"]

#: ``HOOKPIPE_SHOW_STEP=1``: each generated step's source is written to stderr when it is written.
SHOW_ENV = "HOOKPIPE_SHOW_STEP"

#: ``HOOKPIPE_REFERENCE_STEP=1``: run :func:`reference_epoch` instead of the generated step.
REFERENCE_ENV = "HOOKPIPE_REFERENCE_STEP"

#: What an epoch function returns beside the batches it ran: the loader ran out,
#: the run is done (a limit or an agreed stop), or a seed channel changed.
ENDED, DONE, REBUILD = 0, 1, 2

EpochFn = Callable[[Iterator[Any], PipelineHookArgs], tuple[int, int]]

#: The step's scopes, outermost first, and where the batch processor opens the last two.
_STEP, _BATCH, _FORWARD, _BACKWARD = "on_step", "on_batch", "on_model_forward", "on_model_backward"


class LoopControl(Protocol):
    """What the generated loop reads and calls on the trainer (``TrainingLoop`` is one)."""

    pending_loss: Any
    stop: StopRequest
    run: RunContext

    def stop_level(self, between: bool = False) -> int:
        """0 go on, 1 finish cleanly, 2 interrupt (agreed between processes)."""
        ...

    def stop_now(self, args: PipelineHookArgs) -> None:
        """Checkpoint if the run can, then raise ``RunInterrupted``."""
        ...


@dataclass(frozen=True)
class StepSetup:
    """What the generated loop reads, fixed for one run (``TrainingLoop`` provides it).

    ``loop`` is the trainer: the function stores ``pending_loss`` on it and calls
    its ``stop_level``/``stop_now`` when a stop is asked for.
    """

    loop: LoopControl
    accelerator: Accelerator
    hooks: PipelineHooks
    batch_processor: BatchProcessorMixin
    model: Any  # the prepared model: a Module, or a DDP/compiled wrapper of one
    state: TrainerProgressState
    counters: Counters
    base_args: dict[str, Any]
    max_step: int | None
    max_epoch: int | None
    per_epoch: int | None
    total_updates: int | None
    loss_meters: Sequence[LossMeter]
    display: ProgressDisplay | None


def compile_epoch(setup: StepSetup, previous: EpochFn | None = None) -> EpochFn:
    """The function that runs one epoch's batches: ``run_epoch(batches, epoch_args) -> (ran, status)``.

    ``previous`` is the function that returned ``REBUILD``: the count of changes
    is one for every seed channel, so when this step's channels hold what it was
    written with, it is kept (told the new count) instead of written again.
    """
    if os.environ.get(REFERENCE_ENV) == "1":
        return reference_epoch(setup)
    if previous is not None:
        env = previous.__globals__
        if env["registered"] == _registered(setup):
            env["V"] = REGISTRATIONS.count
            return previous
    return _Writer(setup).build()


def reference_epoch(setup: StepSetup) -> EpochFn:
    """The same epoch loop, interpreted: the seed's nested scopes, entered through each channel's ``begin``.

    What the generated function does, written as plain Python over the same
    objects (``accelerator``'s step context from :mod:`~hookpipe.runtime.fastpath`,
    the batch processor's own ``__call__``, ``TrainerProgressState``'s methods). It is
    the specification the generated step is tested against, bit for bit
    (``tests/runtime/test_step_program.py``), and what ``HOOKPIPE_REFERENCE_STEP=1``
    runs instead of it. It never returns ``REBUILD``: it reads the channels each step.
    """
    s = setup
    path = fast_path(s.accelerator)
    gs = s.accelerator.gradient_state
    c, state, loop, hooks, base = s.counters, s.state, s.loop, s.hooks, s.base_args

    def new_args(**extra: Any) -> PipelineHookArgs:
        args: PipelineHookArgs = object.__new__(PipelineHookArgs)  # the fields the trainer's own copy has
        args.__dict__ = {**base, "epoch_id": state.epoch_id, "step_id": state.step_id,
                         "global_step_id": state.global_step_id, **extra}
        return args

    def last_batch() -> bool:
        return state.step_id + 1 >= s.per_epoch if s.per_epoch is not None else bool(gs.end_of_dataloader)

    def last_step(g: int) -> bool:
        if s.max_step is not None and g + 1 >= s.max_step:
            return True
        if s.max_epoch is None:
            return False
        return state.epoch_id + 1 >= s.max_epoch and last_batch()

    def run_epoch(batches: Iterator[Any], ea: PipelineHookArgs) -> tuple[int, int]:
        ran = 0
        for batch in batches:
            with path.sync(s.model):
                g = state.global_step_id
                c.global_step, c.step = g, g + 1
                if gs.sync_gradients:
                    state.update_count += 1
                    c.update = state.update_count
                else:
                    c.update = 0
                c.batch, c.last_batch = state.step_id + 1, last_batch()
                c.last_step = last = last_step(g)
                c.last_update = c.update == s.total_updates if s.total_updates is not None else last and c.update > 0
                with hooks.begin("on_step", new_args()) as step_args:
                    with hooks.begin("on_batch", new_args(batch=batch)) as batch_args:
                        s.batch_processor(pipeline_hooks=hooks, on_batch_hook_args=batch_args, model=s.model)
                    step_args.model_outputs = batch_args.model_outputs
                    step_args.reduce_loss = reduce = batch_args.reduce_loss
                    loop.pending_loss = reduce
                    for meter in s.loss_meters:
                        meter.add(reduce)
                    state.step_done = True
            ran += 1
            state.update_step()
            state.sync_pipeline_hook_arg(ea)
            if s.display is not None:
                s.display.update(state.global_step_id, loop.pending_loss)
            if s.accelerator.num_processes > 1 or loop.stop.requested or loop.run.stopping:
                level = loop.stop_level()
                if level == 2:
                    loop.stop_now(ea)
                if level == 1:
                    return ran, DONE
            if state.is_training_end(s.max_step, s.max_epoch):
                return ran, DONE
        return ran, ENDED

    return run_epoch


def _registered(setup: StepSetup) -> tuple[tuple[Any, ...], ...]:
    """What the step's seed channels hold now (their contexts, in order)."""
    return tuple(ch.contexts for name in (_STEP, _BATCH, _FORWARD, _BACKWARD)
                 if isinstance(ch := setup.hooks.hooks.get(name), Channel))


class _Writer:
    def __init__(self, setup: StepSetup) -> None:
        self.s = setup
        self.src = PhaseSource(setup.counters)
        self.env = self.src.env
        self.env.update(
            state=setup.state, loop=setup.loop, new=object.__new__, Args=PipelineHookArgs,
            model=setup.model, gs=setup.accelerator.gradient_state, H=REGISTRATIONS,
        )
        # The run's fixed fields, one name each (see fresh_args).
        self.env.update({f"base_{name}": value for name, value in setup.base_args.items()})
        self.channels: dict[str, Any] = {name: setup.hooks.hooks.get(name)
                                         for name in (_STEP, _BATCH, _FORWARD, _BACKWARD)}
        self.seeded = any(isinstance(ch, Channel) for ch in self.channels.values())
        self.env["V"] = REGISTRATIONS.count
        self.env["registered"] = _registered(setup)
        self._args = 0

    # -- the loop --------------------------------------------------------------
    def build(self) -> EpochFn:
        s, line = self.s, self.src.line
        line(0, "def run_epoch(batches, ea):")
        if self.seeded:
            line(1, "if H.count != V:")
            line(2, "return 0, REBUILD")
        line(1, "ran = 0")
        line(1, "for batch in batches:")
        path = fast_path(s.accelerator)
        if isinstance(path, PlainPath) and s.accelerator.num_processes == 1:
            # accumulate()'s work on one process, without its context (nothing to enter)
            self.env["accumulation_step"] = path.accumulation_step
            line(2, "accumulation_step()")
            self.step(2)
        else:
            self.env["accumulate"] = path.sync
            line(2, "with accumulate(model):")
            self.step(3)
        line(2, "ran += 1")
        # TrainerProgressState.update_step, then .sync_pipeline_hook_arg(ea), written out.
        line(2, "state.step_id = i = state.step_id + 1")
        line(2, "state.global_step_id = g = state.global_step_id + 1")
        line(2, "state.step_done = False")
        line(2, "ea.epoch_id = state.epoch_id")
        line(2, "ea.step_id = i")
        line(2, "ea.global_step_id = g")
        if s.display is not None:
            self.env.update(show=s.display.update, display=s.display)
            line(2, "if g >= display.next_update:")  # what update() tests first, without the call
            line(3, "show(g, loop.pending_loss)")
        self.stop_check(2)
        # TrainerProgressState.is_training_end(max_step, max_epoch), the limits this run has.
        limits = [f"state.{field} >= {name}" for field, name, value in
                  (("global_step_id", "max_step", s.max_step), ("epoch_id", "max_epoch", s.max_epoch))
                  if value is not None]
        if limits:
            line(2, f"if {' or '.join(limits)}:")
            line(3, "return ran, DONE")
        if self.seeded:
            line(2, "if H.count != V:")
            line(3, "return ran, REBUILD")
        line(1, "return ran, ENDED")
        self.env.update(max_step=s.max_step, max_epoch=s.max_epoch, ENDED=ENDED, DONE=DONE, REBUILD=REBUILD)
        if os.environ.get(SHOW_ENV) == "1":
            print(f"# {SHOW_ENV}: the step this run executes (hookpipe.runtime.loop.step_program)", file=sys.stderr)
            print("\n".join(self.src.lines), file=sys.stderr, flush=True)
        fn: EpochFn = self.src.compile("epoch", "run_epoch")
        return fn

    def stop_check(self, depth: int) -> None:
        """Between steps: a stop asked for on any process ends (or interrupts) the run here."""
        line = self.src.line
        self.env.update(stop=self.s.loop.stop, run=self.s.loop.run, stop_level=self.s.loop.stop_level,
                        stop_now=self.s.loop.stop_now)
        if self.s.accelerator.num_processes == 1:
            # StopRequest.requested or RunContext.stopping, as the fields they read.
            line(depth, "if stop.signum is not None or stop.reason is not None or run.stop_reason is not None:")
            depth += 1
        line(depth, "level = stop_level()")  # with several processes, polled every step (see stop_agreement)
        line(depth, "if level == 2:")
        line(depth + 1, "stop_now(ea)")
        line(depth, "if level == 1:")
        line(depth + 1, "return ran, DONE")

    # -- one step --------------------------------------------------------------
    def step(self, depth: int) -> None:
        s, line = self.s, self.src.line
        line(depth, "g = state.global_step_id")
        line(depth, "c.global_step = g")
        line(depth, "c.step = g + 1")
        line(depth, "if gs.sync_gradients:")
        line(depth + 1, "u = state.update_count + 1")
        line(depth + 1, "state.update_count = u")
        line(depth + 1, "c.update = u")
        line(depth, "else:")
        line(depth + 1, "c.update = 0")
        # `every N batches` counts the epoch's batches; only a run with such a guard pays for the count.
        batch_guards = self.guards("batch")
        if batch_guards:
            line(depth, "c.batch = state.step_id + 1")
            if any(guard.at_end for guard in batch_guards):
                line(depth, f"c.last_batch = {self.last_batch()}")
        # Only an `at end` guard reads whether this is the run's last step or update.
        if self.reads_last():
            line(depth, f"last = {self.last_step()}")
            line(depth, "c.last_step = last")
            # `at end` of an update guard: the run's last optimizer update (which may come
            # before the last step when the run stops inside an accumulation window).
            if s.total_updates is not None:
                line(depth, f"c.last_update = c.update == {s.total_updates}")
            else:
                line(depth, "c.last_update = last and c.update > 0")

        def body(d: int, a_step: str | None) -> None:
            self.batch(d, a_step)
            line(d, "loop.pending_loss = reduce")
            for meter in s.loss_meters:
                line(d, f"{self.src.name(meter.add, 'meter')}(reduce)")
            line(d, "state.step_done = True")

        self.scope(depth, _STEP, self.fresh_args(), body)

    def guards(self, *units: str) -> list[Any]:
        """The guards of ``units`` in the Plan's training phases (a validation run's count its own batches)."""
        return [call.guard for ch in self.s.hooks.hooks.values() if isinstance(ch, PlanChannel)
                for top in (*ch.befores, *ch.afters) for call in top.nested() if call.guard.unit in units]

    def reads_last(self) -> bool:
        """Whether a guard anywhere in the Plan fires at the run's last step or update (reads ``c.last_*``)."""
        return any(guard.at_end for guard in self.guards("step", "update"))

    def last_batch(self) -> str:
        """Whether this step trains the epoch's last batch: by the loader's length, else accelerate's flag."""
        per_epoch = self.s.per_epoch
        return f"state.step_id + 1 >= {per_epoch}" if per_epoch is not None else "gs.end_of_dataloader"

    def last_step(self) -> str:
        s = self.s
        parts = []
        if s.max_step is not None:
            parts.append(f"g + 1 >= {s.max_step}")
        if s.max_epoch is not None:
            parts.append(f"(state.epoch_id + 1 >= {s.max_epoch} and {self.last_batch()})")
        return " or ".join(parts) or "False"

    def batch(self, depth: int, a_step: str | None) -> None:
        bp = self.s.batch_processor
        inline = isinstance(bp, SimpleBatchProcessor) and type(bp).__call__ is SimpleBatchProcessor.__call__
        if not inline:  # the seed's contract: the processor gets the hooks and opens the model scopes itself
            self.env.update(bp=bp, hooks=self.s.hooks)
            # With `__call__` a plain function of the class, `bp(...)` is `__call__(bp, ...)`;
            # called as that function, the call skips the instance-call slot (an argument tuple
            # and a keyword dict per step) and runs in the step's own interpreter loop. Any
            # other `__call__` (a staticmethod, a callable object, a C slot): the instance.
            opening = "bp("
            if isinstance(own_call := inspect.getattr_static(type(bp), "__call__"), FunctionType):
                self.env["bp_call"] = own_call
                opening = "bp_call(bp, "

        def body(d: int, a_batch: str | None) -> None:
            line = self.src.line
            if inline:
                self.processor(d, a_batch)
            else:
                line(d, f"{opening}pipeline_hooks=hooks, on_batch_hook_args={a_batch}, model=model)")
                line(d, f"outputs = {a_batch}.model_outputs")
                line(d, f"reduce = {a_batch}.reduce_loss")
            if a_step is not None:
                line(d, f"{a_step}.model_outputs = outputs")
                line(d, f"{a_step}.reduce_loss = reduce")

        self.scope(depth, _BATCH, self.fresh_args(batch="batch"), body, needed=not inline)

    def processor(self, depth: int, a_batch: str | None) -> None:
        """``SimpleBatchProcessor.__call__``, written out (the same steps, the same argument objects)."""
        bp, line = self.s.batch_processor, self.src.line
        assert isinstance(bp, SimpleBatchProcessor)  # inlined only then (see batch)
        bp.initialize(self.s.accelerator)
        self.env.update(forward=bp.forward, backward=bp.backward, LossNotProvidedError=LossNotProvidedError, bp=bp,
                        forward_result_error=forward_result_error)
        source = f"{a_batch}.batch" if a_batch is not None else "batch"  # a before hook may replace it
        if is_identity(bp.transform):
            line(depth, f"b = {source}")
        else:
            self.env["transform"] = bp.transform
            line(depth, f"b = transform({source})")

        def derived(**extra: str) -> Callable[[str], list[str]]:
            # The seed copies the batch's argument object (what its hooks set on it included).
            if a_batch is None:
                return self.fresh_args(**extra)
            items = ", ".join(f'"{name}": {value}' for name, value in extra.items())
            return lambda arg: [f"{arg} = new(Args)", f"{arg}.__dict__ = {{**{a_batch}.__dict__, {items}}}"]

        def forward(d: int, a_fwd: str | None) -> None:
            # The unpacking in a `try` of its own: free unless it fails, and then said in one line.
            line(d, "result = forward(model, b)")
            line(d, "try:")
            line(d + 1, "outputs, loss = result")
            line(d, "except (TypeError, ValueError):")
            line(d + 1, "raise forward_result_error(bp, result) from None")
            if a_fwd is not None:
                line(d, f"{a_fwd}.model_outputs = outputs")
            line(d, "reduce = loss")
            if bp.averages_loss:
                self.env["average"] = self.s.accelerator.reduce
                line(d, "if loss is not None:")
                line(d + 1, 'reduce = average(loss, reduction="mean")')
            if a_fwd is not None:
                line(d, f"{a_fwd}.reduce_loss = reduce")

        self.scope(depth, _FORWARD, derived(batch="b"), forward)
        if bp.need_backward:
            line(depth, "if loss is None:")
            line(depth + 1, 'raise LossNotProvidedError("forward returned no loss but need_backward is True")')
            self.scope(depth, _BACKWARD, derived(batch="b", model_outputs="outputs", reduce_loss="reduce"),
                       lambda d, a: line(d, "backward(loss)"))
        if a_batch is not None:
            line(depth, f"{a_batch}.model_outputs = outputs")
            line(depth, f"{a_batch}.reduce_loss = reduce")

    # -- scopes and their argument objects -------------------------------------
    def fresh_args(self, **extra: str) -> Callable[[str], list[str]]:
        """The lines that make a new argument object: the run's fixed fields, this step's ids, then ``extra``.

        One attribute store per field, in the dataclass's field order (the order
        ``__init__`` sets them in), not a dict assigned to ``__dict__``: the object's
        values then live in the block CPython allocates with it, and the class's
        shared keys serve every instance. Built twice per step, a 16-entry dict (a
        table of its own, sized past the small-object allocator's pools) cost 4-9 µs
        a step inside a small model's training loop, the stores next to nothing;
        ``vars()`` shows the same fields in the same order.
        """
        values = {"epoch_id": "state.epoch_id", "step_id": "state.step_id", "global_step_id": "g", **extra}
        names = [f.name for f in fields(PipelineHookArgs)]
        return lambda arg: [f"{arg} = new(Args)",
                            *(f"{arg}.{name} = {values.get(name, f'base_{name}')}" for name in names)]

    def scope(self, depth: int, channel_name: str, make: Callable[[str], list[str]],
              body: Callable[[int, str | None], None], needed: bool = False) -> None:
        """One channel's scope around ``body``, as its channel class defines it.

        ``body(depth, arg)`` writes the inside; ``arg`` is the scope's argument
        object's name, or None when nothing reads it (an empty channel).
        """
        line, ch = self.src.line, self.channels[channel_name]
        kind = "plan" if isinstance(ch, PlanChannel) else "seed" if isinstance(ch, Channel) else "other"
        if kind == "plan":
            befores, afters = ch.befores, ch.afters
        elif kind == "seed":
            befores, afters = ch.calls()
        else:
            befores = afters = ()
        empty = kind != "other" and not befores and not afters
        arg: str | None = None
        if not empty or needed:
            arg = f"a{self._args}"
            self._args += 1
            for text in make(arg):
                line(depth, text)
        if empty and kind == "seed":
            body(depth, arg)
            return
        name = self.src.name(ch, "ch")
        if empty:  # still the innermost scope a failure names (free: a `try` costs nothing until it raises)
            line(depth, "try:")
            body(depth + 1, arg)
            line(depth, "except BaseException as exc:")
            line(depth + 1, f"{name}.fail({arg}, exc)")
            return
        assert arg is not None
        if kind == "other":
            line(depth, f"with {name}.begin({arg}) as {arg}:")
            body(depth + 1, arg)
            return
        line(depth, "try:")
        self.phase(depth + 1, kind, befores, arg)
        body(depth + 1, arg)
        line(depth, "except BaseException as exc:")
        line(depth + 1, f"{name}.fail({arg}, exc)")
        self.phase(depth, kind, afters, arg)

    def phase(self, depth: int, kind: str, calls: Sequence[Any], arg: str) -> None:
        if kind == "plan":
            self.src.calls(calls, arg, depth)
        else:
            self.src.callbacks(calls, arg, depth)
