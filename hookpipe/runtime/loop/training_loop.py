"""The training loop itself, shared by the seed constructor and the Plan path.

The loop is the seed's::

    with on_loop:
        while not done:
            with on_epoch:
                for batch in dataloader:
                    with accelerator.accumulate(model):
                        with on_step:
                            with on_batch:
                                batch_processor(...)   # opens on_model_forward/backward
                    update step id
            update epoch id

:class:`TrainingLoop` runs whatever :class:`~hookpipe.runtime.hooks.mixin.PipelineHooks`
it is given; it knows nothing of default hooks (the seed constructor,
:class:`hookpipe.runtime.trainer.HookBasedTrainer`, adds those) nor of how a Plan
becomes hooks (:mod:`hookpipe.runtime.build`). Given
:class:`~hookpipe.runtime.plan.plan_hooks.PlanHooks` it also keeps the frequency
counters the Plan's guards read (:class:`~hookpipe.runtime.dispatch.channels.Counters`) and
resumes a Plan checkpoint mid-phase.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.optimizer import AcceleratedOptimizer
from accelerate.scheduler import AcceleratedScheduler
from torch.utils.data import DataLoader

from hookpipe.compiler.loop import SCOPE_CHANNEL
from hookpipe.compiler.plan import Plan
from hookpipe.compiler.run_values import RunSize
from hookpipe.perf import kept_for_run
from hookpipe.runtime.args import PipelineHookArgs
from hookpipe.runtime.checkpoints.checkpoint_state import (
    read_progress,
    read_state,
    restore_grads,
    stateful,
    write_progress,
)
from hookpipe.runtime.checkpoints.epoch_random import (
    EpochRandom,
    SavedRandom,
    loader_generators,
    order_depends_on_rng,
    random_path,
    read_epoch_random,
)
from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig
from hookpipe.runtime.checkpoints.resume_changes import ResumeReport
from hookpipe.runtime.dispatch.channels import Counters, PlanChannel, run_calls
from hookpipe.runtime.distributed.agreement import check_batches
from hookpipe.runtime.distributed.signals import StopRequest
from hookpipe.runtime.distributed.stop_agreement import StopAgreement
from hookpipe.runtime.errors import RunInterrupted
from hookpipe.runtime.fastpath import install_plain_backward
from hookpipe.runtime.hooks.mixin import PipelineHookChanelType, PipelineHooks
from hookpipe.runtime.loop.batch_processor import BatchProcessorMixin
from hookpipe.runtime.loop.progress import TrainerProgressState
from hookpipe.runtime.loop.sanity import sanity_validation
from hookpipe.runtime.loop.step_program import DONE, REBUILD, StepSetup, compile_epoch
from hookpipe.runtime.plan.plan_hooks import PlanHooks
from hookpipe.runtime.run_context import RunContext, loader_length
from hookpipe.runtime.tracking.loss_meter import LossMeter
from hookpipe.runtime.tracking.progress_display import ProgressDisplay
from hookpipe.runtime.tracking.trace import Tracer
from hookpipe.runtime.tracking.trackers import finish_trackers

#: The seed's logger name, so its training-start lines reach the same handlers.
logger = get_logger("robo_orchard_lab.pipeline.hook_based_trainer")
#: hookpipe's own warnings (a resume that cannot be exact, a hook whose setup a resume skips).
_log = logging.getLogger(__name__)

__all__ = ["Prepared", "TrainingLoop", "prepare"]

# What the processes agree on between steps (see TrainingLoop.stop_level).
_GO_ON, _FINISH, _INTERRUPT = 0, 1, 2


@dataclass(frozen=True)
class Prepared:
    """The run's objects after ``accelerator.prepare``, and the progress state checkpoints hold."""

    accelerator: Accelerator
    model: torch.nn.Module
    dataloader: Any
    optimizer: AcceleratedOptimizer
    lr_scheduler: AcceleratedScheduler | None
    progress: TrainerProgressState
    #: The random state at the start of the epoch being trained, for every ``save_state`` folder (epoch_random).
    epoch_random: EpochRandom | None = None


def prepare(
    accelerator: Accelerator,
    model: torch.nn.Module,
    dataloader: DataLoader | Iterable[Any],
    optimizer: torch.optim.Optimizer,
    lr_scheduler: torch.optim.lr_scheduler.LRScheduler | None,
) -> Prepared:
    """Hand the run's objects to accelerate, and register the progress state for checkpoints.

    Done before any hook is built, in this order, by both constructors: the
    objects accelerate registers for checkpointing are numbered in the order they
    arrive, so the order is part of the checkpoint format.
    """
    dataloader, model, optimizer, lr_scheduler = accelerator.prepare(dataloader, model, optimizer, lr_scheduler)
    progress = TrainerProgressState()
    accelerator.register_for_checkpointing(progress)
    epoch_random = EpochRandom(dataloader)

    def write_position(models: Any, weights: Any, output_dir: str) -> None:
        # accelerate's save_state pre-hook: hookpipe's position beside the seed's record, and (every process)
        # the random state the epoch's order was drawn from, so a resume mid-epoch draws it again.
        if accelerator.is_main_process:
            Path(output_dir).mkdir(parents=True, exist_ok=True)
            write_progress(Path(output_dir), progress.position())
        epoch_random.write(Path(output_dir), accelerator.process_index)

    accelerator.register_save_state_pre_hook(write_position)
    return Prepared(accelerator, model, dataloader, optimizer, lr_scheduler, progress, epoch_random)


class TrainingLoop:
    """The loop of a hook-based trainer over prepared objects and a set of hooks.

    Args:
        prepared: What :func:`prepare` returned.
        batch_processor: Runs forward and backward for one batch.
        hooks: The hooks to run, exactly these; :class:`PlanHooks` run a compiled Plan.
        max_step: Stop after this many steps (batches).
        max_epoch: Stop after this many epochs.
        resume_from: Restore a checkpoint before training.
        show_progress: Show progress (a bar or plain lines) on the main process.
    """

    hooks: PipelineHooks
    accelerator: Accelerator
    dataloader: DataLoader
    model: torch.nn.Module
    optimizer: AcceleratedOptimizer
    lr_scheduler: AcceleratedScheduler | None

    def __init__(
        self,
        prepared: Prepared,
        batch_processor: BatchProcessorMixin,
        hooks: PipelineHooks,
        *,
        max_step: int | None,
        max_epoch: int | None,
        resume_from: ResumeCheckpointConfig | None = None,
        show_progress: bool = False,
    ) -> None:
        self.accelerator = prepared.accelerator
        self.model = prepared.model
        self.dataloader = prepared.dataloader
        self.optimizer = prepared.optimizer
        self.lr_scheduler = prepared.lr_scheduler
        self.trainer_progress_state = prepared.progress
        self.batch_processor = batch_processor
        self.max_step = max_step
        self.max_epoch = max_epoch
        self._start_epoch = 0
        self._start_step = 0
        #: Batches of the first epoch to skip after a resume (0: start it from its first).
        self._skip_batches = 0
        #: The random state at the start of the epoch being trained (what checkpoints store, see epoch_random).
        self.epoch_random = prepared.epoch_random or EpochRandom(prepared.dataloader)
        #: The loaded checkpoint's record of it, consumed by the first epoch after a resume.
        self._saved_random: SavedRandom | None = None
        #: The running (then the last) step's loss, stored in a checkpoint written inside the step.
        self.pending_loss: Any = None
        #: Sum the losses of every step, one per hook that asked (see :meth:`add_loss_meter`).
        self._loss_meters: tuple[LossMeter, ...] = ()
        #: ``(global step, perf_counter)`` when the loop started, for throughput.
        self.run_started: tuple[int, float] | None = None
        self.show_progress = show_progress
        #: Set by signal handlers (see :mod:`.signals`) or hooks; read between steps.
        self.stop = StopRequest()
        #: How the processes agree on a stop without a blocking collective per step.
        self._stop_agreement = StopAgreement(self.accelerator.num_processes)
        #: What changed since the checkpoint a Plan run resumed from (set by ``from_parts``).
        self.resume_report: ResumeReport | None = None
        #: What hooks see as ``args.run``: the run's size and the clean-stop request.
        self.run = RunContext(self._run_size())
        # A loaded checkpoint's hookpipe state, consumed by the first __call__.
        self._resumed: dict[str, Any] | None = None
        self._base_args: dict[str, Any] | None = None
        self.hooks = hooks
        self.plan: Plan | None = None
        self.counters = Counters()
        self.hook_instances: Mapping[str, Any] = {}
        self.tracer: Tracer | None = None
        if isinstance(hooks, PlanHooks):
            self.plan = hooks.plan
            self.counters = hooks.counters
            self.hook_instances = hooks.instances
            self.tracer = hooks.tracer
            for inst in hooks.instances.values():
                bind = getattr(inst, "bind_trainer", None)
                if callable(bind):
                    bind(self)
        self._resume(resume_from)

    def _resume(self, resume_from: ResumeCheckpointConfig | None) -> None:
        if resume_from is None:
            return
        logger.info(f"Resume from: {resume_from}", main_process_only=True)
        folder = Path(resume_from.load_state(accelerator=self.accelerator))
        rank = self.accelerator.process_index
        state = read_state(folder, rank)
        progress = self.trainer_progress_state
        if resume_from.seed_resume:
            pass  # the seed's ids as loaded; the epoch restarts (see ResumeCheckpointConfig)
        elif state is not None:
            progress.load_position(state["progress"])
        elif (position := read_progress(folder)) is not None:
            progress.load_position(position)
        elif not progress.loaded_position:  # written by RoboOrchard Lab
            progress.infer_position(self.accelerator.step, self._steps_per_epoch(),
                                    self.accelerator.gradient_accumulation_steps)
        if not resume_from.seed_resume:
            self._skip_batches = progress.step_id
            self._saved_random = read_epoch_random(folder, rank)
            self._check_epoch_order(folder, rank)
            # Gradients of an unfinished accumulation window: the built-in checkpoint's and SaveCheckpoint's.
            restore_grads(folder, rank, self.accelerator.unwrap_model(self.model))
        if state is not None and not resume_from.seed_resume:
            if state.get("stopping") is not None:  # the run was already ending cleanly
                self.run.request_stop(state["stopping"])
            for name, hook_state in state["hooks"].items():
                inst = self.hook_instances.get(name)
                if inst is not None and callable(getattr(inst, "load_state_dict", None)):
                    inst.load_state_dict(hook_state)
            if self.tracer is not None and state.get("trace") is not None:
                self.tracer.truncate(int(state["trace"]))
            self._resumed = state if self.plan is not None else None
        self._start_epoch = self.trainer_progress_state.epoch_id
        self._start_step = self.trainer_progress_state.step_id
        self.run.size = self._run_size()  # the whole run: the updates done plus those left (docs/runtime.md)

    def _check_epoch_order(self, folder: Path, rank: int) -> None:
        """Warn when a resume mid-epoch cannot train the batches the interrupted run would have.

        A sampler that draws a new order at each epoch (torch's ``RandomSampler``
        without accelerate's seedable sampler) needs the random state of the
        epoch's start, which a checkpoint written by RoboOrchard Lab or an older
        hookpipe does not hold; the resumed epoch then goes on in another order.
        """
        saved, epoch = self._saved_random, self.trainer_progress_state.epoch_id
        if not self._skip_batches or not order_depends_on_rng(self.dataloader) or not self.accelerator.is_main_process:
            return
        if saved is not None and saved.epoch == epoch and saved.torch_start is not None:
            return
        _log.warning(f"resuming {folder} in the middle of epoch {epoch}: the checkpoint holds no record of the random "
                     f"state the epoch's shuffled order was drawn from ({random_path(folder, rank).name}; written by "
                     "RoboOrchard Lab or an older hookpipe), so the rest of the epoch is trained in another order than "
                     "the interrupted run's; with accelerate's seedable sampler (DataLoaderConfiguration("
                     "use_seedable_sampler=True)) the order is a function of the epoch and the resume is exact")

    def add_loss_meter(self) -> LossMeter:
        """A running sum of every step's loss, from now on (``log()`` asks for one)."""
        meter = LossMeter()
        self._loss_meters += (meter,)
        return meter

    def _get_hook_args(self, **kwargs: Any) -> PipelineHookArgs:
        """A fresh argument object for one scope (hooks may keep it; it is never reused).

        Built from a per-run dict of the fields that do not change (see
        :meth:`_args_base`) rather than through the dataclass ``__init__``. For the
        loop and epoch scopes and the hooks' own calls; the fused step
        (:mod:`.step_program`) makes its per-step objects from the same dict, field
        by field.
        """
        state = self.trainer_progress_state
        fields = (self._base_args or self._args_base()).copy()
        fields["epoch_id"] = state.epoch_id
        fields["step_id"] = state.step_id
        fields["global_step_id"] = state.global_step_id
        if kwargs:
            fields.update(kwargs)
        args = object.__new__(PipelineHookArgs)
        args.__dict__ = fields
        return args

    def _args_base(self) -> dict[str, Any]:
        """The fields every argument object of the run starts from, as a plain dict.

        ``dict(...)`` of the instance's own ``__dict__``: that one shares its keys with
        every ``PipelineHookArgs`` (a split table), and a copy of it is built key by key;
        a plain dict's copy (``{**base, ...}``, ``base.copy()``) is one block copy.
        """
        return dict(vars(
            PipelineHookArgs(
                accelerator=self.accelerator,
                max_step=self.max_step,
                max_epoch=self.max_epoch,
                dataloader=self.dataloader,
                model=self.model,
                optimizer=self.optimizer,
                lr_scheduler=self.lr_scheduler,
                start_epoch=self._start_epoch,
                start_step=self._start_step,
                run=self.run,
            )
        ))

    def _steps_per_epoch(self) -> int | None:
        return loader_length(self.dataloader)

    def _run_size(self) -> RunSize:
        """The whole run's size; after a resume, what is done plus what is left (``RunSize.resumed``)."""
        p = self.trainer_progress_state
        return RunSize.resumed((p.epoch_id, p.step_id, p.global_step_id, p.update_count), self.max_step,
                               self.max_epoch, self._steps_per_epoch(), self.accelerator.gradient_accumulation_steps,
                               self.accelerator.num_processes)

    def __call__(self) -> None:
        """Train until ``max_step`` or ``max_epoch``; hooks' ``close()`` runs at the end.

        After a resume from a Plan checkpoint, the rest of the phase that wrote the
        checkpoint runs first, and ``before`` phases of the scopes the run was
        inside (the loop; the epoch when resumed mid-epoch) do not run again: the
        hooks that fire are exactly those an uninterrupted run fires from there.
        """
        state = self.trainer_progress_state
        counters = self.counters
        max_step, max_epoch = self.max_step, self.max_epoch
        per_epoch = self._steps_per_epoch()
        check_batches(self.accelerator, per_epoch)  # ranks that disagree would hang in the last step's collectives
        self._total_updates = self.run.updates
        resumed, self._resumed = self._resumed, None
        self._base_args = self._args_base()  # fixed for the run: the trainer's objects and limits
        logger.info("\n" + "=" * 50 + "BEGIN TRAINING" + "=" * 50, main_process_only=True)
        logger.info(f"Start training loop from epoch {self._start_epoch} and step {self._start_step}",
                    main_process_only=True)
        self.run_started = (state.global_step_id, time.perf_counter())
        self.model.train()
        if self.plan is not None:  # what monitors will read, checked before the first step (loop/sanity.py)
            sanity_validation(self.hook_instances, self._get_hook_args(),
                              int(self.plan.trainer.get("sanity_val_batches", 2)),
                              {hook.name: hook.span for hook in self.plan.hooks})
        display = self._progress_display()
        self._setup = StepSetup(
            loop=self, accelerator=self.accelerator, hooks=self.hooks, batch_processor=self.batch_processor,
            model=self.model, state=state, counters=counters, base_args=self._base_args, max_step=max_step,
            max_epoch=max_epoch, per_epoch=per_epoch, total_updates=self._total_updates,
            loss_meters=self._loss_meters, display=display,
        )
        self._run_epoch = compile_epoch(self._setup)
        # A processor's own accelerator.backward takes the plain path where that is exact (see fastpath).
        restore_backward = install_plain_backward(self.accelerator)
        with kept_for_run():  # the run's setup stays out of the steps' garbage collections (hookpipe.perf)
            try:
                if resumed is not None and resumed["cursor"]["scope"] == "loop":
                    self._finish_phase(resumed)  # the run had ended; only its last phase was cut short
                    if state.is_training_end(max_step, max_epoch):
                        return
                    # Resumed with higher limits: the loop goes on (its `before` phase already ran).
                    resumed = {**resumed, "cursor": {**resumed["cursor"], "index": None}}
                if resumed is not None:
                    self._warn_skipped_setup(mid_epoch=state.step_id > 0)
                with self._begin("on_loop", self._get_hook_args(), resumed is not None) as loop_args:
                    if resumed is not None:
                        self._finish_phase(resumed)
                    done = state.is_training_end(max_step, max_epoch) or self._stop_between(loop_args)
                    inside = resumed is not None and state.step_id > 0
                    while not done or inside:
                        skip_before, inside = inside, False
                        epoch_args = self._get_hook_args()
                        counters.epoch = state.epoch_id + 1
                        counters.last_epoch = self._epoch_may_be_last(per_epoch)
                        ran = 0
                        with self._begin("on_epoch", epoch_args, skip_before):
                            if not done:
                                ran, done = self._run_batches(self._epoch_batches(), epoch_args)
                            if display is not None:  # the bar says the steps the epoch's lines will say
                                display.catch_up(state.global_step_id, self.pending_loss)
                            if ran == 0 and state.step_id == 0 and max_epoch is None:
                                # The seed would loop forever; under max_epoch it runs empty epochs.
                                raise RuntimeError("the dataloader yielded no batches and the run has no max_epoch, "
                                                   "so it would never end: check the dataset, or set max_epoch")
                            counters.last_epoch = done or (max_epoch is not None and state.epoch_id + 1 >= max_epoch)
                            state.epoch_done = True
                        state.update_epoch()
                        state.sync_pipeline_hook_arg(loop_args)
                        done = done or state.is_training_end(max_step, max_epoch) or self._stop_between(loop_args)
            finally:
                restore_backward()
                self._base_args = None
                self._stop_agreement.close()
                if display is not None:
                    display.close(state.global_step_id)  # the bar ends at the steps done: 100% at the run's end
                self._close_hooks()
        logger.info("\n" + "=" * 50 + "FINISH TRAINING" + "=" * 50, main_process_only=True)

    def _warn_skipped_setup(self, mid_epoch: bool) -> None:
        """Warn once per hook whose ``before`` callbacks this resume skips and that restores no state.

        The resumed run does not run ``loop.before`` again (nor ``epoch.before``
        mid-epoch): the uninterrupted run ran them once. A hook that sets itself up
        there (timers, a device move) and has no ``state_dict``/``load_state_dict``
        would go on without that setup, silently or with an error steps later.
        hookpipe's own hooks are written for this and are not named.
        """
        if not self.accelerator.is_main_process:
            return
        skipped = [("on_loop", "loop.before")] + ([("on_epoch", "epoch.before")] if mid_epoch else [])
        found: dict[str, list[str]] = {}
        for channel, phase in skipped:
            for call in getattr(self.hooks.hooks.get(channel), "befores", ()):
                for inner in call.nested():
                    inst = self.hook_instances.get(inner.hook)
                    if inst is None or stateful(inst) or type(inst).__module__.startswith("hookpipe."):
                        continue
                    where = f" ({inner.span.file}:{inner.span.line})" if inner.span is not None else ""
                    entry = f"{inner.callback} in {phase}{where}"
                    if entry not in found.setdefault(inner.hook, []):
                        found[inner.hook].append(entry)
        for name, entries in found.items():
            it, that = ("it", "that callback") if len(entries) == 1 else ("them", "those callbacks")
            _log.warning(f"hook '{name}': this resume does not run {' or '.join(entries)} again (the interrupted run "
                         f"ran {it}), and the hook has no state_dict/load_state_dict, so whatever {that} set up is "
                         "missing now; give the hook state_dict() and load_state_dict() (the checkpoint stores its "
                         "state), or set it up lazily in the first callback that needs it")

    def _begin(self, channel: PipelineHookChanelType, args: PipelineHookArgs, skip_before: bool) -> Any:
        ch = self.hooks.hooks.get(channel)
        if skip_before and isinstance(ch, PlanChannel):
            return ch.begin(args, skip_before=True)
        return self.hooks.begin(channel, args)

    def _finish_phase(self, resumed: dict[str, Any]) -> None:
        """Run the calls after the one that wrote the checkpoint, in its phase, as it would have."""
        cursor = resumed["cursor"]
        if cursor["stop"] or cursor["index"] is None:
            return
        channel = self.hooks.hooks.get(SCOPE_CHANNEL[cursor["scope"]])
        rest = tuple(getattr(channel, "afters", ())[cursor["index"] + 1 :])
        if not rest:
            return
        self.counters.restore(resumed["counters"])
        args = self._get_hook_args()
        args.epoch_id, args.step_id, args.global_step_id = cursor["ids"]
        if cursor["scope"] == "step":  # the epoch's batch count, from the step's own id (a run whose step did
            # not count it, or an earlier version, stored none); the epoch's last batch by the loader's length
            per_epoch = self._steps_per_epoch()
            self.counters.batch = args.step_id + 1
            if per_epoch is not None:
                self.counters.last_batch = args.step_id + 1 >= per_epoch
        if cursor["scope"] == "step":
            self.accelerator.gradient_state.sync_gradients = self.counters.update > 0
            if resumed.get("loss") is not None:
                args.reduce_loss = torch.tensor(resumed["loss"])
        run_calls(rest, args, self.counters)

    def stop_level(self, between: bool = False) -> int:
        """What every process agrees to do now: go on, finish cleanly, or be interrupted.

        All processes must stop at the same step, so with several the levels are
        MAX-reduced: after steps asynchronously every few steps, between epochs at
        once (see :mod:`.stop_agreement`, which also gives the latency). Only when a
        process asked do they exchange reasons, so each summary says why, not just
        that another rank asked. A stop every process decided together (nan_guard's)
        needs no agreement.
        """
        stop, run = self.stop, self.run
        level = _INTERRUPT if stop.requested else _FINISH if run.stopping else _GO_ON
        if self.accelerator.num_processes == 1 or stop.everywhere:
            return level
        agreement = self._stop_agreement
        agreed = agreement.now(level) if between else agreement.poll(level, self.trainer_progress_state.global_step_id)
        if agreed == _GO_ON:
            return agreed
        import torch.distributed as dist

        mine = (stop.describe() if stop.requested else None, run.stop_reason)
        everyone: list[Any] = [None] * self.accelerator.num_processes
        dist.all_gather_object(everyone, mine)
        if agreed == _INTERRUPT and not stop.requested:
            reason, code = next(i for i, _ in everyone if i is not None)
            stop.request(reason, code)
        if agreed == _FINISH and not run.stopping:
            run.request_stop(next(f for _, f in everyone if f is not None))
        return agreed

    def _stop_between(self, args: PipelineHookArgs) -> bool:
        """A stop asked for outside a step (in an epoch or loop phase): True to end the run."""
        level = self.stop_level(between=True)
        if level == _INTERRUPT:
            self.stop_now(args)
        return level == _FINISH

    def stop_now(self, args: PipelineHookArgs) -> None:
        """Checkpoint (if the Plan has a checkpoint hook) and raise :class:`RunInterrupted`."""
        # Every checkpoint hook of the file saves (the built-in's and the seed's SaveCheckpoint alike, in the
        # order declared; one that saves nothing at a stop returns None); the message names the first.
        savers = [inst for inst in self.hook_instances.values() if callable(getattr(inst, "save_on_stop", None))]
        paths = [path for saver in savers if (path := saver.save_on_stop(args)) is not None]
        path = paths[0] if paths else None
        reason, code = self.stop.describe()
        raise RunInterrupted(reason, code, self.trainer_progress_state.global_step_id, path)

    def _run_batches(self, batches: Iterator[Any], epoch_args: PipelineHookArgs) -> tuple[int, bool]:
        """Train on ``batches`` (one epoch's): ``(steps run, whether the run is done)``.

        The steps run in the function :mod:`.step_program` wrote for this run; when
        a seed hook changed the registered hooks it is written again and goes on
        with the same batches.
        """
        ran = 0
        while True:
            count, status = self._run_epoch(batches, epoch_args)
            ran += count
            if status != REBUILD:
                return ran, status == DONE
            self._run_epoch = compile_epoch(self._setup, self._run_epoch)

    @property
    def last_loss(self) -> Any:
        """The loss of the last step (detached), for summaries."""
        loss = self.pending_loss
        return loss.detach() if isinstance(loss, torch.Tensor) else loss

    def _progress_display(self) -> ProgressDisplay | None:
        """The main process's progress output, when the Plan asks for it (``trainer.progress``)."""
        if not self.show_progress or not self.accelerator.is_main_process:
            return None
        return ProgressDisplay(self.run.steps, start=self.trainer_progress_state.global_step_id)

    def _last_batch(self, per_epoch: int | None) -> bool:
        if per_epoch is not None:
            return self.trainer_progress_state.step_id + 1 >= per_epoch
        return bool(self.accelerator.gradient_state.end_of_dataloader)

    def _epoch_may_be_last(self, per_epoch: int | None) -> bool:
        state = self.trainer_progress_state
        if self.max_epoch is not None and state.epoch_id + 1 >= self.max_epoch:
            return True
        if self.max_step is not None and per_epoch is not None:
            return state.global_step_id + (per_epoch - state.step_id) >= self.max_step
        return False

    def _epoch_batches(self) -> Iterator[Any]:
        """This epoch's batches; after a resume, without those already trained on.

        ``set_epoch`` makes the shuffle order a function of the epoch (accelerate's
        seedable sampler), so an interrupted epoch replays the same order. Any other
        sampler draws its order when the iterator starts, from the global generator
        or the loader's own: their states at that moment are recorded for
        checkpoints (:mod:`~hookpipe.runtime.checkpoints.epoch_random`), and an
        epoch resumed halfway starts its iterator from the recorded ones.
        """
        state = self.trainer_progress_state
        loader = self.dataloader
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(state.epoch_id)
        skip, self._skip_batches = self._skip_batches, 0
        saved, self._saved_random = self._saved_random, None
        start = self._restore_loader_random(saved, skip) if saved is not None else None
        self.epoch_random.started(state.epoch_id, start)
        if not skip:
            return iter(loader)
        if isinstance(loader, DataLoader):
            loader = self.accelerator.skip_first_batches(loader, skip)
            return _without_rng_draws(iter(loader), start)
        return _without_rng_draws(islice(iter(loader), skip, None), start)

    def _restore_loader_random(self, saved: SavedRandom, skip: int) -> torch.Tensor | None:
        """Give the loader's generators the checkpoint's states; the global state the iterator starts from.

        Resumed mid-epoch (``skip`` batches done): the states of the epoch's start,
        when the record is of this epoch (else None: the order cannot be drawn
        again, :meth:`_check_epoch_order` said so). Resumed between epochs: the
        loader's generators as saved (the global generator accelerate restored).
        """
        if skip and (saved.epoch != self.trainer_progress_state.epoch_id or saved.torch_start is None):
            return None
        states = saved.generators_start if skip else saved.generators_saved
        generators = loader_generators(self.dataloader)
        if len(states) == len(generators):
            for generator, generator_state in zip(generators, states):
                generator.set_state(generator_state)
        elif self.accelerator.is_main_process:
            _log.warning(f"the checkpoint records {len(states)} random generator(s) of the training loader and it has "
                         f"{len(generators)} now: their states are not restored, so its order may differ from the "
                         "interrupted run's")
        return saved.torch_start if skip else None

    def _close_hooks(self) -> None:
        for inst in self.hook_instances.values():
            close = getattr(inst, "close", None)
            if callable(close):
                close()
        finish_trackers(self.accelerator)


def _without_rng_draws(it: Iterator[Any], start: torch.Tensor | None = None) -> Iterator[Any]:
    # Starting an epoch's iterator draws a seed from the global RNG. The uninterrupted
    # run drew it before the checkpoint, so the resumed run must not draw again; with
    # `start`, the global state at the epoch's start, it draws what that run drew.
    devices: list[int] = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        if start is not None:
            torch.set_rng_state(start)
        try:
            first = next(it)
        except StopIteration:
            return
    yield first
    yield from it
