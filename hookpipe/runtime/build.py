"""From a Plan to a ready trainer: accelerator, seed, factories, hooks.

Trainer values resolve as follows (``$ref``/``$call`` as in :mod:`.resolve`):

* ``model``, ``dataloader``, ``batch_processor``: a ``$call`` is called; a ``$ref``
  or import-path string naming a class is instantiated with no arguments, any other
  object is used as it is;
* ``optimizer``: called with the model's parameters first, then its arguments;
* ``lr_scheduler``: called with the optimizer first (optional).

``from_plan`` keyword overrides replace trainer values with live Python objects
(``model=``, ``dataloader=``, ``batch_processor=``, ``optimizer=``,
``lr_scheduler=``, ``max_step=``, ``max_epoch=``), and accept ``resume_from=`` (a
:class:`ResumeCheckpointConfig`), ``hook_instances=`` (pre-built hooks by name) and
``check_effects=True`` (verify each callback's declared effects, see
:mod:`.effect_check`). Before anything is built, all processes must agree on the
Plan (:mod:`.agreement`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, set_seed

from hookpipe.compiler.catalog import seed_hook_type
from hookpipe.compiler.pipeline import compile_file
from hookpipe.compiler.plan import Plan, PlanEntry
from hookpipe.compiler.run_values import RunSize, substitute, with_run_values
from hookpipe.compiler.settings import (
    FACTORY_KEYS,
    REQUIRED_FACTORIES,
    RUN_LENGTH_KEYS,
    TrainerSettings,
    has_run_length,
)
from hookpipe.runtime.checkpoints.place_lock import hold_folders, launched_as_main, log_lock
from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig, swap_folders
from hookpipe.runtime.checkpoints.resume_changes import ResumeRefused, ResumeReport, check_model_fits, examine
from hookpipe.runtime.checkpoints.schedule_rebase import fresh_schedule
from hookpipe.runtime.checkpoints.versions import RunPlace, choose_place
from hookpipe.runtime.distributed.agreement import check_agreement
from hookpipe.runtime.distributed.threads import apply_threads
from hookpipe.runtime.errors import PlanResolveError, SettingError, UncalledFactory, describe_validation_error
from hookpipe.runtime.loop.training_loop import Prepared, prepare
from hookpipe.runtime.plan.effect_check import EffectChecker
from hookpipe.runtime.plan.import_roots import use_import_roots
from hookpipe.runtime.plan.plan_hooks import PlanHooks, build_plan_hooks
from hookpipe.runtime.plan.resolve import call_factory, resolve_value
from hookpipe.runtime.plan.verify import METRIC_SCHEDULER_HELP, class_lookup_for, metric_stepped
from hookpipe.runtime.run_context import loader_length
from hookpipe.runtime.run_lock import RunLock
from hookpipe.runtime.tracking.profiler import Profiler
from hookpipe.runtime.tracking.trace import tracer_from_env
from hookpipe.runtime.tracking.trackers import start_trackers, tracker_arguments

__all__ = ["OVERRIDABLE", "PlanParts", "load_plan", "make_accelerator", "plan_parts", "settings_of"]

OVERRIDABLE = frozenset(
    {*FACTORY_KEYS, *RUN_LENGTH_KEYS} | {"resume_from", "hook_instances", "check_effects", "profile"}
)


@dataclass(frozen=True)
class PlanParts:
    """Everything a trainer that runs a Plan is made of (``HookBasedTrainer.from_parts``)."""

    prepared: Prepared
    batch_processor: Any
    hooks: PlanHooks
    max_step: int | None
    max_epoch: int | None
    resume_from: ResumeCheckpointConfig | None
    #: Per-entry hook times, when built with ``profile=True`` (``hookpipe run --profile``).
    profiler: Profiler | None = None
    #: What changed since the checkpoint ``resume_from`` names (see :mod:`.resume_changes`).
    resume_report: ResumeReport | None = None
    #: Show progress on the main process (``trainer.progress``).
    progress: bool = False
    #: What ``hookpipe run`` tells the user when the run starts (e.g. where it writes).
    notes: tuple[str, ...] = ()
    #: The main process's hold on the folders the run writes (``checkpoints/place_lock.py``), released when it ends.
    locks: tuple[RunLock, ...] = ()


def load_plan(path: str) -> Plan:
    """The Plan of a ``.pipe`` file (compiled, reading custom classes' effects) or of a saved plan (``.json``)."""
    if path.endswith(".json"):
        from hookpipe.runtime.checkpoints.resume_changes import plan_from_file

        return plan_from_file(Path(path), "cannot read plan")
    # With the classes' own effects, as `check --resolve` orders them: what runs is what was checked.
    return compile_file(path, classes=class_lookup_for(path))


def settings_of(plan: Plan) -> TrainerSettings:
    """The Plan's trainer block, validated (after overrides)."""
    try:
        return TrainerSettings.model_validate(plan.trainer)
    except pydantic.ValidationError as exc:
        raise PlanResolveError(f"invalid trainer settings in {plan.source}: {describe_validation_error(exc)}") from None


def make_accelerator(settings: TrainerSettings) -> Accelerator:
    """An Accelerator for the Plan's run settings.

    The seedable sampler makes each epoch's shuffle order depend only on the seed
    and the epoch, which is what lets a resumed run continue exactly. The
    scheduler is not stepped by accelerate (once per process per update) but by
    the ``optimizer`` hook, once per update.
    """
    return Accelerator(
        gradient_accumulation_steps=settings.grad_accumulation,
        # The optimizer hook steps the scheduler once per update (see hooks/optimizer.py).
        step_scheduler_with_optimizer=False,
        mixed_precision=settings.mixed_precision,
        cpu=settings.cpu or not _has_accelerator_device(),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=settings.seed),
        **tracker_arguments(settings),
    )


def _has_accelerator_device() -> bool:
    # On a CPU-only machine, ask for the CPU explicitly: under a torchrun-style
    # launcher (`accelerate launch --multi_gpu`) accelerate only sets up gloo
    # (MULTI_CPU) when cpu=True, and would otherwise run N unconnected processes.
    import torch

    xpu = getattr(torch, "xpu", None)
    return (
        torch.cuda.is_available()
        or torch.backends.mps.is_available()
        or bool(xpu is not None and xpu.is_available())
    )


def _filled(value: Any, size: RunSize, what: str) -> Any:
    """``value`` with its run-time values (``run.updates``...) replaced by this run's numbers."""
    try:
        return substitute(value, size, what)
    except ValueError as exc:
        raise PlanResolveError(str(exc)) from None


def _object(value: Any, what: str) -> Any:
    if isinstance(value, dict) and "$call" in value:
        return call_factory(value, what=what)
    obj = resolve_value(value, strings_are_paths=True)
    return obj() if isinstance(obj, type) else obj


#: What each factory setting must give the run, in a message's words.
_NEEDED = {
    "model": "a torch.nn.Module",
    "dataloader": "a dataloader (an iterable of batches)",
    "optimizer": "an optimizer",
    "lr_scheduler": "a learning-rate scheduler",
    "batch_processor": "a batch processor",
}
#: The keywords the loop calls a batch processor with (``step_program``): a function taking them is one.
_PROCESSOR_KEYWORDS = {"pipeline_hooks": None, "on_batch_hook_args": None, "model": None}


def _code_kind(obj: Any) -> str | None:
    """``"a function"``/``"a class"`` when ``obj`` is code meant to be called, else None."""
    import functools
    import inspect

    if isinstance(obj, type):
        return "a class"
    if inspect.isroutine(obj) or isinstance(obj, functools.partial):
        return "a function"
    return None


def _shown(value: Any) -> str:
    """A factory value as a message shows it: its import path (``hookpipe run`` shows the file's words)."""
    if isinstance(value, dict) and "$ref" in value:
        return str(value["$ref"]).replace(":", ".")
    if isinstance(value, dict) and "$call" in value:
        return f"{str(value['$call']).replace(':', '.')}(...)"
    return str(value)


def _built(key: str, value: Any, obj: Any) -> Any:
    """``obj``, built from trainer setting ``key`` (``value``), if it is what the run needs there.

    ``model = m.build_model`` (no call) gives the run the function itself, which fails
    deep in the build (``'function' object has no attribute 'parameters'``): refused
    here, naming the setting and the call to write. A function a batch processor may
    be (one taking the loop's keywords) stays one; the optimizer and the scheduler are
    called by the run (with the parameters, the optimizer), so what they gave is judged.
    """
    kind = _code_kind(obj)
    if key == "batch_processor" and kind == "a function":
        import inspect

        try:
            inspect.signature(obj).bind(**_PROCESSOR_KEYWORDS)
            return obj  # called by the loop as a processor is
        except (TypeError, ValueError):
            pass
    called = key in ("optimizer", "lr_scheduler") or (isinstance(value, dict) and "$call" in value)
    if kind is not None and not called:
        raise UncalledFactory(key, _shown(value), kind, _NEEDED[key])
    if kind is not None:
        raise SettingError(f"trainer.{key}: `{_shown(value)}` returned {kind}, not {_NEEDED[key]}: make the factory "
                           "return the object itself", setting=f"trainer.{key}")
    if key == "model" and not callable(getattr(obj, "parameters", None)):
        raise SettingError(f"trainer.model: `{_shown(value)}` gave {type(obj).__name__}, not a torch.nn.Module: "
                           "name a function or class that builds the model", setting="trainer.model")
    return obj


def _no_loss_collective(processor: Any, call: Any) -> None:
    """In ``.pipe`` runs ``reduce_loss`` is each process's own loss unless the file asks otherwise.

    The seed averages it over processes every step (an all-reduce per step); the
    readers of the loss in a pipeline (``log()``, ``loss_log``) average over
    processes themselves when they report, so the per-step collective is left out
    by default. ``average_loss = true`` in the processor's call keeps the seed's.
    """
    from hookpipe.runtime.loop.batch_processor import SimpleBatchProcessor

    args = call.get("args") if isinstance(call, dict) else None
    if isinstance(processor, SimpleBatchProcessor) and not (isinstance(args, dict) and "average_loss" in args):
        processor.average_loss = False


def _no_swa_with_scheduler(plan: Plan, lr_scheduler: Any) -> None:
    """Refuse ``swa`` with a trainer ``lr_scheduler`` before anything is built (``check`` says HP003).

    Also for an ``lr_scheduler`` given in Python (``from_plan(plan, lr_scheduler=...)``),
    which the compiler never saw.
    """
    if lr_scheduler is None:
        return
    for hook in plan.hooks:
        if hook.builtin and hook.type == "swa":
            from hookpipe.runtime.builtins.swa import scheduler_conflict

            raise PlanResolveError(f"{plan.source}: {scheduler_conflict(hook.name, hook.args.get('start'))}")


def _unmet_needs(plan: Plan) -> None:
    """Refuse a seed hook attached where its callback needs phases it is not attached in (``check``: HP006).

    ``StatsMonitor`` after steps without ``loop.before`` stops at step 1 with an
    AssertionError. A ``.pipe`` file that does so does not compile; a saved plan
    (``hookpipe run plan.json``) is not compiled again, so it is refused here.
    """
    attached: dict[str, dict[str, PlanEntry]] = {}
    for phase_plan in plan.phases:
        for entry in phase_plan.flat():
            attached.setdefault(entry.hook, {}).setdefault(phase_plan.key, entry)
    for hook in plan.hooks:
        kind = None if hook.builtin else seed_hook_type(hook.type)
        if kind is None:
            continue
        where = attached.get(hook.name, {})
        for phase, needed in kind.needs:
            missing = [p for p in needed if p not in where]
            if phase not in where or not missing:
                continue
            listed = " and ".join(f"`{p}`" for p in missing)
            raise SettingError(f"hook '{hook.name}' ({kind.name}) is attached in `{phase}`, whose callback needs its "
                               f"{listed} callback{'s' if len(missing) > 1 else ''} to have run ({kind.needs_failure}"
                               f"); attach it in {listed} too (`hookpipe check` reports this as HP006)",
                               span=where[phase].span)


def plan_parts(plan: Plan, accelerator: Accelerator | None = None, **overrides: Any) -> PlanParts:
    """Build what a trainer executing ``plan`` needs (see the module docstring).

    In the order a run depends on: agreement between processes, the seed, the
    factories, ``accelerator.prepare``, then the hooks.
    """
    unknown = set(overrides) - OVERRIDABLE
    if unknown:
        raise TypeError(f"from_plan() got unexpected overrides: {', '.join(sorted(unknown))}")
    use_import_roots(plan.source)  # the same module search rule as `hookpipe run`
    settings = settings_of(plan)
    max_step = overrides.get("max_step", settings.max_step)
    max_epoch = overrides.get("max_epoch", settings.max_epoch)
    if not has_run_length(max_step, max_epoch):
        raise PlanResolveError(f"{plan.source}: the trainer needs max_step or max_epoch")
    for key in REQUIRED_FACTORIES:
        if key not in overrides and getattr(settings, key) is None:
            raise PlanResolveError(f"{plan.source}: `hookpipe run` needs trainer.{key}")
    _no_swa_with_scheduler(plan, overrides["lr_scheduler"] if "lr_scheduler" in overrides else settings.lr_scheduler)
    _unmet_needs(plan)
    resume_from: ResumeCheckpointConfig | None = overrides.get("resume_from")
    report = None
    if resume_from is not None and "://" not in resume_from.resume_from.removeprefix("file://"):
        # A local checkpoint is compared with the plan before anything is built (see resume_changes).
        report = examine(plan, resume_from.resume_from.removeprefix("file://"))
    # Where this run writes: beside, never over, what another run wrote (see checkpoints/versions.py).
    if launched_as_main():
        # Chosen and held in one step: a run started beside it writes elsewhere (checkpoints/place_lock.py).
        # A caller's accelerator has its own trackers: no log folder of this run's to hold then.
        logs = settings.log_dir if settings.log_with and accelerator is None else None
        place, held = hold_folders(lambda: _place(plan, settings, report), lambda p: _locks(plan, p, logs))
        locks = tuple(held)
    else:  # the other processes take the main one's place
        place, locks = _place(plan, settings, report), ()
    if place.version is not None and settings.log_with:
        settings = settings.model_copy(update={"log_dir": str(place.folder(settings.log_dir))})
    try:
        return _assemble(plan, settings, place, report, accelerator, overrides, locks)
    except BaseException:
        for lock in reversed(locks):  # no run: another may write there (the last taken first, see run_lock)
            lock.release()
        raise


def _assemble(plan: Plan, settings: TrainerSettings, place: RunPlace, report: ResumeReport | None,
              accelerator: Accelerator | None, overrides: dict[str, Any], locks: tuple[RunLock, ...]) -> PlanParts:
    """:func:`plan_parts` once the run's place is chosen (and its log folder held): everything else."""
    max_step = overrides.get("max_step", settings.max_step)
    max_epoch = overrides.get("max_epoch", settings.max_epoch)
    resume_from: ResumeCheckpointConfig | None = overrides.get("resume_from")
    own_accelerator = accelerator is None
    accelerator = make_accelerator(settings) if accelerator is None else accelerator
    check_agreement(accelerator, plan)
    if accelerator.num_processes > 1:  # every process writes where the main process decided
        from accelerate.utils import broadcast_object_list

        chosen = [place]
        broadcast_object_list(chosen, from_process=0)
        place = chosen[0]
    if settings.threads is not None:  # the default share is `hookpipe run`'s: it owns the process
        apply_threads(settings.threads, accelerator.num_processes)
    if settings.seed is not None:
        set_seed(settings.seed)
    # Run-time values: the process count is known now; the rest once the dataloader is prepared.
    early = RunSize(None, None, None, accelerator.num_processes)
    if "model" in overrides:
        model = overrides["model"]
    else:
        model = _built("model", settings.model, _object(_filled(settings.model, early, "trainer.model"),
                                                        "trainer.model"))
    if report is not None:  # the saved weights must fit before anything loads them
        try:
            check_model_fits(model, report.folder)
        except ResumeRefused as exc:
            exc.report = report
            raise
    if "dataloader" in overrides:
        dataloader = overrides["dataloader"]
    else:
        dataloader = _built("dataloader", settings.dataloader,
                            _object(_filled(settings.dataloader, early, "trainer.dataloader"), "trainer.dataloader"))
    # Prepared first (accelerate prepares an object once; `prepare` gets it back as it is),
    # so that the run's size is the sharded loader's.
    dataloader = accelerator.prepare(dataloader)
    # The whole run; resumed, the updates done plus those left under today's settings (docs/runtime.md).
    size = RunSize.resumed(report.done if report is not None else (0, 0, 0, 0), max_step, max_epoch,
                           loader_length(dataloader), accelerator.gradient_accumulation_steps,
                           accelerator.num_processes)
    if "optimizer" in overrides:
        optimizer = overrides["optimizer"]
    else:
        optimizer = _built("optimizer", settings.optimizer,
                           call_factory(_filled(settings.optimizer, size, "trainer.optimizer"), model.parameters(),
                                        what="trainer.optimizer"))
    if "lr_scheduler" in overrides:
        lr_scheduler = overrides["lr_scheduler"]
    elif settings.lr_scheduler is not None:
        target = settings.lr_scheduler.get("$call") if isinstance(settings.lr_scheduler, dict) else None
        needs = metric_stepped(target) if isinstance(target, str) else None
        if needs is not None:  # as check --resolve says, before anything trains
            raise PlanResolveError(f"{plan.source}: {needs}; {METRIC_SCHEDULER_HELP}")
        lr_scheduler = _built("lr_scheduler", settings.lr_scheduler,
                              call_factory(_filled(settings.lr_scheduler, size, "trainer.lr_scheduler"), optimizer,
                                           what="trainer.lr_scheduler"))
    else:
        lr_scheduler = None
    if report is not None:  # the schedule as today's settings define it, before the checkpoint's state replaces it
        report.fresh_schedule = fresh_schedule(optimizer, lr_scheduler)
        report.size = size
    if "batch_processor" in overrides:
        processor = overrides["batch_processor"]
    else:
        what = "trainer.batch_processor"
        processor = _built("batch_processor", settings.batch_processor,
                           _object(_filled(settings.batch_processor, size, what), what))
        _no_loss_collective(processor, settings.batch_processor)
    prepared = prepare(accelerator, model, dataloader, optimizer, lr_scheduler)
    try:
        plan = with_run_values(plan, size)
    except ValueError as exc:
        raise PlanResolveError(str(exc)) from None
    profiler = Profiler(plan) if overrides.get("profile") else None  # the very plan whose entries it times
    wrappers: tuple[Any, ...] = (profiler.wrap,) if profiler is not None else ()  # innermost: it times the hook alone
    if overrides.get("check_effects"):
        wrappers += (EffectChecker(model, optimizer, lr_scheduler).wrap,)
    hooks = build_plan_hooks(
        plan,
        is_main=accelerator.is_main_process,
        instances=overrides.get("hook_instances"),
        num_processes=accelerator.num_processes,
        wrappers=wrappers,
        tracer=tracer_from_env(accelerator.process_index, accelerator.num_processes),
    )
    for inst in hooks.instances.values():
        if callable(getattr(inst, "use_place", None)):
            inst.use_place(place)
    if own_accelerator:  # a caller's accelerator has its own trackers, started or not
        start_trackers(accelerator, settings)
    return PlanParts(prepared, processor, hooks, max_step, max_epoch, resume_from, profiler=profiler,
                     resume_report=report, progress=settings.progress,
                     notes=(place.note,) if place.note else (), locks=locks)


def _place(plan: Plan, settings: TrainerSettings, report: ResumeReport | None) -> RunPlace:
    """Where the run's checkpoints and logs go (:func:`~hookpipe.runtime.checkpoints.versions.choose_place`).

    The seed's ``SaveCheckpoint`` and ``SaveModel`` name folders too: a second run of
    the file would replace what the first one saved there.
    """
    limits = tuple(f"trainer.{key}:" for key in RUN_LENGTH_KEYS)
    changed = report is not None and any(not c.startswith(limits) for c in report.changes)
    return choose_place(_checkpoint_dir(plan), settings.log_dir if settings.log_with else None,
                        report.folder if report is not None else None, changed,
                        in_place=[root for _, root in _save_roots(plan, "SaveCheckpoint")],
                        exports=[root for _, root in _save_roots(plan, "SaveModel")])


def _checkpoint_dir(plan: Plan) -> str | None:
    """The built-in ``checkpoint`` hook's ``dir`` (the first one's), if the Plan has one."""
    found = _checkpoint_hook(plan)
    return found[1] if found is not None else None


def _checkpoint_hook(plan: Plan) -> tuple[str, str] | None:
    """``(name, dir)`` of the Plan's first built-in ``checkpoint`` hook, if it has one."""
    hooks = [(h.name, str(h.args["dir"])) for h in plan.hooks if h.builtin and h.type == "checkpoint"
             and h.args.get("dir")]
    return hooks[0] if hooks else None


def _locks(plan: Plan, place: RunPlace, log_dir: str | None) -> list[RunLock]:
    """The locks of every folder a run at ``place`` writes: one run per folder (``checkpoints/place_lock.py``).

    A version folder a lock made goes again when the run leaves it empty.
    """
    made = place.version is not None
    spans = {hook.name: hook.span for hook in plan.hooks}
    locks = []
    if log_dir is not None:
        logs = log_lock(place, log_dir)
        logs.owner = "trainer.log_dir"  # a log folder that cannot be made is that setting's error
        locks.append(logs)
    if (ckpt := _checkpoint_hook(plan)) is not None:
        name, folder = ckpt
        locks.append(RunLock(place.folder(folder), setting=f"`dir` (--set hook.{name}.dir=...)",
                             remove_if_empty=made, owner=f"hook.{name}.dir", span=spans[name]))
    for name, root in _save_roots(plan, "SaveCheckpoint"):  # the folder itself, where a link points (swap_folders)
        locks.append(RunLock(swap_folders(place.beside(root))[0],
                             setting=f"`save_root` (--set hook.{name}.save_root=...)", remove_if_empty=made,
                             owner=f"hook.{name}.save_root", span=spans[name]))
    for name, root in _save_roots(plan, "SaveModel"):
        locks.append(RunLock(place.folder(root), what="model folder",
                             setting=f"`save_root` (--set hook.{name}.save_root=...)", remove_if_empty=made,
                             owner=f"hook.{name}.save_root", span=spans[name]))
    return locks


def _save_roots(plan: Plan, seed_hook: str) -> list[tuple[str, str]]:
    """``(hook name, save_root)`` of each of the Plan's ``seed_hook`` hooks (RoboOrchard Lab's, by their config path).

    ``SaveCheckpoint`` swaps its whole folder in on each save, with versions beside
    it: a root without a name of its own (``"."``) is refused before anything trains.
    """
    roots: list[tuple[str, str]] = []
    for hook in plan.hooks:
        found = None if hook.builtin else seed_hook_type(hook.type)
        root = hook.args.get("save_root")
        if found is None or found.name != seed_hook or not isinstance(root, str):
            continue
        if seed_hook == "SaveCheckpoint" and not Path(root).name:
            raise PlanResolveError(
                f"hook '{hook.name}' ({hook.span.file}:{hook.span.line}): save_root = {root!r} names no folder of "
                "its own, and SaveCheckpoint replaces its whole folder on each save; name one, such as "
                f'save_root = "runs/ckpt", in the file or with --set hook.{hook.name}.save_root=runs/ckpt')
        roots.append((hook.name, root))
    return roots
