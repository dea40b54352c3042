"""An MMEngine config (a dict of settings) as a ``Port``.

What maps to what is documented in docs/import.md; the rules worth knowing here:

- MMEngine registers its six default hooks, changed by the config's
  ``default_hooks`` (mmengine_hooks.registered_default_hooks), then ``custom_hooks``,
  and runs the hooks of one callback by priority (lower first), ties in that
  registration order. The import writes the hooks of each phase block in that
  order, and written order is an ordering edge in ``.pipe``, so the priority
  survives as written order.
- MMEngine validates after all of the epoch's ``after_train_epoch`` hooks (an
  iteration's ``after_train_iter`` hooks in an ``IterBasedTrainLoop``). The import
  puts ``evaluate`` right before the first checkpoint instead, so the checkpoint
  records this validation's metrics (mmengine_validation.layout); the hooks MMEngine runs
  in ``before_val_epoch`` (``SyncNormHook``) run where the validation does, in its own
  ``before`` (or with its frequencies before an EMA swap they precede), and those of
  ``after_val_epoch`` (the logger's record, ``EarlyStoppingHook``) in its own ``after``.
- ``train_cfg``'s ``val_interval``, ``val_begin`` and ``dynamic_intervals`` become
  one ``evaluate`` attachment per interval with ``from``/``until``, firing at the
  epochs (or iterations) MMEngine's loop validates at, the last one included at
  any length (mmengine_validation.py).
- One ``by_epoch=False`` scheduler becomes torch's where that is exact per
  iteration (mmengine_schedulers.py), then per update under accumulation
  (mmengine_accumulation.py).
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any, Sequence

from hookpipe.porting.mmengine_accumulation import per_update_scheduler, schedule_note, window_note
from hookpipe.porting.mmengine_hooks import (
    Ported,
    RunFacts,
    as_dict,
    contains_opaque,
    registered_default_hooks,
    short_type,
    spec_args,
    translate_hook,
    type_of,
    under,
)
from hookpipe.porting.mmengine_keys import (
    ENV_SETTLED,
    ENV_WHY,
    LOG_PROCESSOR_NOTHING_TO_DO,
    LOG_PROCESSOR_SETTLED,
    LOG_PROCESSOR_WHY,
    RUNNER_KEYS,
    RUNNER_NOTHING_TO_DO,
    RUNNER_SETTLED,
    RUNNER_WHY,
    Spec,
    is_int,
    is_number,
)
from hookpipe.porting.mmengine_keys import show as _show
from hookpipe.porting.mmengine_schedulers import SCHEDULER_ONLY, epoch_scheduler_note, iteration_form
from hookpipe.porting.mmengine_unread import mark_unread
from hookpipe.porting.mmengine_validation import layout
from hookpipe.porting.model import Attachment, Call, Hook, Item, Port, RunValue
from hookpipe.porting.writer import split_writable

#: MMEngine optimizers that are torch's under the same name (its schedulers: mmengine_schedulers.py).
TORCH_OPTIMIZERS = {"SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "RMSprop", "NAdam", "RAdam", "LBFGS",
                    "Rprop", "ASGD", "SparseAdam"}


#: MMEngine's training loops by the unit they count in.
_ITER_LOOPS = ("IterBasedTrainLoop", "mmengine.IterBasedTrainLoop")
_EPOCH_LOOPS = ("EpochBasedTrainLoop", "mmengine.EpochBasedTrainLoop")


def port_mmengine(cfg: dict[str, Any], name: str, source: str, module: str | None = None,
                  unread: Sequence[str] = ()) -> Port:
    """The ``Port`` of a merged MMEngine config (``Config.fromfile(...).to_dict()`` or ``read_config``).

    ``unread``: ``read_config``'s notes of what it did not read; they, and each setting
    ``Runner`` reads that was not evaluated and no mark names, go on the run's length
    (mmengine_unread.py).
    """
    port = Port(name=name, source=source, kind="mmengine", module=module)
    top = Spec(cfg, "config", RUNNER_SETTLED, RUNNER_WHY, RUNNER_NOTHING_TO_DO)
    top.take_all(("model", "train_dataloader", "val_dataloader", "val_cfg", "val_evaluator", "optim_wrapper",
                  "param_scheduler", "randomness", "visualizer", "train_cfg", "default_hooks", "custom_hooks"))
    train = Spec(top.get("train_cfg"), "train_cfg", nothing=("dataloader",))
    kind = train.string("type", None, instead="ported as an EpochBasedTrainLoop")
    old_style = train.boolean("by_epoch", None) if kind is None else None  # MMEngine's old form: by_epoch, no type
    by_epoch = kind not in _ITER_LOOPS and "max_iters" not in train and old_style is not False
    if kind is not None and kind not in _ITER_LOOPS + _EPOCH_LOOPS:
        train.note(f"train_cfg.type {kind!r} is not MMEngine's EpochBasedTrainLoop or IterBasedTrainLoop: ported as "
                   f"{'the former' if by_epoch else 'the latter'}; port what the loop does differently")
    length_key, unit = ("max_epochs", "epoch") if by_epoch else ("max_iters", "step")
    length = train.take(length_key)
    train.take_all(("max_epochs", "max_iters"))
    if isinstance(length, float) and length.is_integer():
        length = int(length)  # MMEngine's loops take int(max_epochs) when it equals max_epochs
    if is_int(length) and length >= 1:
        port.setting("max_epoch" if by_epoch else "max_step", length)
    elif isinstance(length, float) and math.isfinite(length):
        port.setting("max_epoch" if by_epoch else "max_step", 1,
                     f"train_cfg.{length_key} {_show(length)} is not a whole number: MMEngine refuses it "
                     "(AssertionError); set the run's length")
    else:
        port.setting("max_epoch" if by_epoch else "max_step", 1,
                     f"train_cfg.{length_key} is missing or not a number ({_show(length)}): set the run's length")
    length_notes, train.notes = train.notes, []
    loop = _validation_loop(train, by_epoch)
    if length_key in loop:
        loop[length_key] = length
    deterministic = _randomness(cfg, port)
    work_dir, work_note = _work_dir(top, source)
    port.setting("model", Call(port.need("build_model", f"the model (MMEngine builds {type_of(cfg.get('model'))} "
                                                        "from its registry)")), deterministic)
    loader, note = _loader(cfg, "train_dataloader", port, "train_loader", "the training DataLoader")
    port.setting("dataloader", loader, note)
    _optimizer(cfg, port, top, by_epoch)
    _scheduler(cfg, port, by_epoch, length)
    port.setting("batch_processor", Call(port.need("Processor", "a batch processor computing the loss (the "
                                                                "model's train_step)")))

    ported: list[Ported] = []
    order = 0
    clip, clip_note = _clip(cfg, port)
    optimize = port.add_hook(Hook("optimize", "optimizer", note=clip_note))
    evaluate = _validation(cfg, port)
    run = RunFacts(by_epoch, work_dir, work_note, evaluate, _val_summary(loop, by_epoch) if evaluate else None,
                   _accumulation(cfg))
    default_hooks, default_notes = registered_default_hooks(top.get("default_hooks"))
    for note in default_notes:
        _mark_length(port, note)
    for key, spec in default_hooks:
        if not isinstance(spec, dict):
            _mark_length(port, f"default_hooks.{key} {_show(spec)} is not a dict: not written; write it by hand")
            continue
        ported += translate_hook(spec, port, order, run, key)
        order += 1
    custom_hooks = top.get("custom_hooks")
    if custom_hooks is not None and not isinstance(custom_hooks, (list, tuple)):
        _mark_length(port, f"custom_hooks {_show(custom_hooks)} is not a list of hooks: not written; write them "
                           "by hand")
        custom_hooks = []
    for spec in custom_hooks or []:
        if isinstance(spec, dict):
            ported += translate_hook(spec, port, order, run, None)
            order += 1
        else:
            _mark_length(port, f"custom_hooks entry {_show(spec)} is not a dict: not written; write it by hand")
    for note in run.dropped:
        _mark_length(port, note)
    logger = next((h for h in port.hooks if h.callee == "log"), None)
    if logger is not None:
        trackers, tracker_note = _trackers(cfg)
        port.setting("log_with", trackers, tracker_note)
        port.setting("log_dir", under(work_dir, "logs"), work_note)
    _log_processor(top, port, logger)
    _runtime_keys(top, port, train, length_notes)

    head: list[Item] = [Attachment(clip)] if clip else []
    head.append(Attachment(optimize.name))
    layout(port, ported, head, evaluate, loop, by_epoch)
    mark_unread(port, cfg, unread)
    return port


def _validation_loop(train: Spec, by_epoch: bool) -> dict[str, Any]:
    """``train_cfg``'s validation keys as ``val_firings`` reads them, each read by type; ``_notes``: its marks.

    A value that is not a literal integer is named in the mark of the ``evaluate``
    attachments, which are written with MMEngine's default in its place (``val_interval``
    1 in an ``EpochBasedTrainLoop``, 1000 in an ``IterBasedTrainLoop``; ``val_begin`` 1).
    """
    loop: dict[str, Any] = {key: train.get(key) for key in ("max_epochs", "max_iters") if key in train}
    loop["val_interval"] = train.integer("val_interval", 1 if by_epoch else 1000)
    loop["val_begin"] = train.integer("val_begin", 1)
    dynamic = train.take("dynamic_intervals")
    if dynamic is not None:
        pairs = dynamic if isinstance(dynamic, (list, tuple)) else None
        if pairs is None or not all(isinstance(p, (list, tuple)) and len(p) == 2 and all(is_int(v) for v in p)
                                    for p in pairs):
            train.note(f"train_cfg.dynamic_intervals {train.show(dynamic)} is not a list of literal (milestone, "
                       "interval) pairs: left out; set the intervals by hand")
        else:
            loop["dynamic_intervals"] = pairs
    loop["_notes"], train.notes = train.notes, []
    return loop


def _val_summary(loop: dict[str, Any], by_epoch: bool) -> tuple[str, int, int, bool]:
    """The validation's unit, interval, first firing and whether ``dynamic_intervals`` changes the interval."""
    interval = loop["val_interval"] if is_int(loop["val_interval"]) and loop["val_interval"] >= 1 else 1
    begin = loop["val_begin"] if is_int(loop["val_begin"]) and loop["val_begin"] >= 1 else 1
    return "epoch" if by_epoch else "step", interval, -(-begin // interval) * interval, bool(loop.get(
        "dynamic_intervals"))


def _work_dir(top: Spec, source: str) -> tuple[str, str | None]:
    """MMEngine's ``work_dir``: the config's, else ``./work_dirs/<config file stem>`` (OpenMMLab's ``tools/train.py``).

    Returned without a leading ``./`` or a trailing ``/``; with the mark of the lines that
    use it when the config's value is not a string.
    """
    default = f"work_dirs/{PurePath(source).stem or 'imported'}"
    value = top.take("work_dir")
    if value is None:
        return default, None
    if isinstance(value, str) and value.strip():
        folder = value.rstrip("/") or "/"
        while folder.startswith("./"):
            folder = folder[2:]
        return folder or ".", None
    return default, (f"work_dir {top.show(value)} is not a literal string: MMEngine's default {default} written; "
                     "set the folder by hand")


def _log_processor(top: Spec, port: Port, logger: Hook | None) -> None:
    """``log_processor``: smoothing ``log()`` does not do is marked on the logger's line (the run's length without
    one)."""
    spec = top.take("log_processor")
    if spec is None:
        return
    keys = Spec(spec, "log_processor", LOG_PROCESSOR_SETTLED, LOG_PROCESSOR_WHY, LOG_PROCESSOR_NOTHING_TO_DO)
    keys.take("type")
    note = keys.mark() if isinstance(spec, dict) else f"log_processor {top.show(spec)} is not a dict: check it by hand"
    if note and logger is not None:
        logger.note = "; ".join(filter(None, [logger.note, note]))
    elif note:
        _mark_length(port, note)


def _runtime_keys(top: Spec, port: Port, train: Spec, length_notes: list[str]) -> None:
    """``resume``, ``load_from``, ``auto_scale_lr``, ``env_cfg`` and every top-level key no translation took.

    ``resume`` and ``load_from`` are what ``hookpipe run``'s ``--resume``/``--weights-from``
    do: marked on the run's length with the flag. The keys left are marked on
    ``batch_processor``, the line that stands in for MMEngine's Runner.
    """
    resume = top.take("resume", False)
    load_from = top.take("load_from")
    notes = list(length_notes)
    if resume is True and load_from is None:
        notes.append("resume=True: MMEngine resumes from the newest checkpoint in work_dir, or starts anew: run "
                     "hookpipe run FILE --resume auto")
    elif resume is True:
        notes.append(f"resume=True from load_from {top.show(load_from)}: MMEngine resumes from that checkpoint; "
                     "hookpipe resumes from its own checkpoint folders: hookpipe run FILE --resume DIR")
    elif resume is not False:
        notes.append(f"resume {top.show(resume)} is not True or False: check it by hand")
    elif load_from is not None:
        notes.append(f"load_from {top.show(load_from)}: MMEngine loads these weights before training; hookpipe run "
                     "FILE --weights-from DIR starts from a hookpipe checkpoint's weights: load an MMEngine .pth in "
                     "the model factory")
    train_left = train.untranslated("train_cfg keys not translated")
    for note in (*notes, train_left):
        if note:
            _mark_length(port, note)
    left: list[str] = []
    env = top.take("env_cfg")
    if env is not None:
        env_keys = Spec(env, "env_cfg", ENV_SETTLED, ENV_WHY, ("resource_limit",))
        left.append((env_keys.untranslated("env_cfg") or "") if isinstance(env, dict)
                    else f"env_cfg {top.show(env)}")
    scale = top.take("auto_scale_lr")
    if scale is not None:
        _auto_scale_lr(scale, top, port)
    left.append(top.untranslated("MMEngine keys not translated", only=RUNNER_KEYS) or "")
    note = "; ".join(n for n in left if n)
    if note:
        processor = next(s for s in port.settings if s.key == "batch_processor")
        processor.note = "; ".join(filter(None, [processor.note, note]))


def _auto_scale_lr(scale: Any, top: Spec, port: Port) -> None:
    """``auto_scale_lr`` with ``enable=True``: MMEngine multiplies every lr by (processes x batch_size) /
    ``base_batch_size`` when it builds the optimizer; marked on ``optimizer`` with the factor to apply."""
    if not isinstance(scale, dict):
        note = f"auto_scale_lr {top.show(scale)} is not a dict: check it by hand"
    elif scale.get("enable", False) is False:
        return
    elif scale.get("enable") is not True or not is_number(scale.get("base_batch_size")):
        note = f"auto_scale_lr {top.show(scale)}: check by hand whether MMEngine scales the lr"
    else:
        base = scale["base_batch_size"]
        batch = as_dict(top.get("train_dataloader")).get("batch_size")
        factor = f"{batch}/{base} = {batch / base:.6g} on one process" if is_number(batch) and base else "batch/base"
        note = (f"auto_scale_lr is enabled: MMEngine multiplies the lr by processes x batch_size / base_batch_size "
                f"{base} ({factor}): write the scaled lr")
    setting = next(s for s in port.settings if s.key == "optimizer")
    setting.note = "; ".join(filter(None, [setting.note, note]))


def _optimizer(cfg: dict[str, Any], port: Port, top: Spec, by_epoch: bool) -> None:
    wrapper = Spec(top.get("optim_wrapper"), "optim_wrapper", {"loss_scale": ("dynamic",)},
                   {"loss_scale": "accelerate's fp16 scales the loss dynamically"})
    spec = as_dict(wrapper.take("optimizer"))
    kind = short_type(spec.get("type", ""))
    args, opaque = spec_args(spec, set())
    notes = []
    if opaque:
        notes.append(f"left out {', '.join(f'{k} {_show(spec[k])}' for k in opaque)} (not literal values)")
    if wrapper.take("paramwise_cfg") is not None:
        notes.append("optim_wrapper.paramwise_cfg sets per-parameter options: build the parameter groups in a "
                     "factory")
    wrapper_type = short_type(wrapper.string("type", "OptimWrapper", instead="ported as an OptimWrapper"))
    wrapper.take_all(("clip_grad",))  # _clip
    counts = _accumulation(cfg, wrapper)
    if counts > 1:  # hookpipe's trainer has no sync_with_dataloader=False: the condition is marked
        port.setting("grad_accumulation", counts, window_note(counts, by_epoch))
    if wrapper_type == "AmpOptimWrapper":
        dtype = wrapper.take("dtype")
        if dtype in (None, "float16", "fp16", "bfloat16", "bf16"):
            port.setting("mixed_precision", "bf16" if dtype in ("bfloat16", "bf16") else "fp16")
        else:
            port.setting("mixed_precision", "fp16", f"optim_wrapper.dtype {wrapper.show(dtype)} is not float16 or "
                                                    "bfloat16: MMEngine's default fp16 written; set it by hand")
    elif wrapper_type != "OptimWrapper":
        notes.append(f"optim_wrapper type {wrapper_type}: ported as an OptimWrapper; port what it does differently")
    note = wrapper.mark(*notes)
    if kind in TORCH_OPTIMIZERS:
        port.setting("optimizer", Call(f"torch.optim.{kind}", args), note)
    else:
        port.setting("optimizer", Call(port.need("optimizer", f"the optimizer ({kind or 'no type given'})"), args),
                     note)


def _accumulation(cfg: dict[str, Any], wrapper: Spec | None = None) -> int:
    """``optim_wrapper.accumulative_counts``: the iterations per optimizer update (1 when not a count above 1).

    With ``wrapper`` the value is read by type: one that is not a literal integer is noted there.
    """
    if wrapper is not None:
        counts = wrapper.integer("accumulative_counts", 1, instead="no accumulation written")
    else:
        counts = as_dict(cfg.get("optim_wrapper")).get("accumulative_counts")
    return counts if is_int(counts) and counts > 1 else 1


def _batches(by_epoch: bool) -> str:
    return "every epoch's batch count" if by_epoch else "the train loader's length"


def _scheduler(cfg: dict[str, Any], port: Port, by_epoch_loop: bool, length: Any) -> None:
    """``lr_scheduler``: one iteration-based scheduler as torch's (mmengine_schedulers.py; counted in updates under
    accumulation, where exact), anything else as a marked factory call."""
    counts = _accumulation(cfg)
    schedules = cfg.get("param_scheduler")
    if isinstance(schedules, dict):
        schedules = [schedules]
    if schedules is not None and not isinstance(schedules, (list, tuple)):
        port.setting("lr_scheduler", Call(port.need("lr_scheduler", "the learning-rate schedule, stepped once per "
                                                                    "update")),
                     f"param_scheduler {_show(schedules)} is not a literal list of schedulers: write the schedule "
                     "in this factory")
        return
    if not schedules:
        return
    specs = [s for s in schedules if isinstance(s, dict)]
    unread = [_show(s) for s in schedules if not isinstance(s, dict)]
    if len(specs) == 1 and specs[0].get("by_epoch", True) is False:  # MMEngine steps it every iteration
        spec = specs[0]
        kind = short_type(spec.get("type", ""))
        args, opaque = spec_args(spec, set(SCHEDULER_ONLY))
        default_end = None if by_epoch_loop or not isinstance(length, int) else length
        opaque += [key for key in ("begin", "end") if contains_opaque(spec.get(key))]
        form = None if opaque else iteration_form(kind, args, spec.get("begin", 0), spec.get("end"), default_end)
        if form is not None:
            written, note = form.args, form.note
            if counts > 1 and not note:  # MMEngine still steps it every iteration, hookpipe once per update
                own = {k: v for k, v in written.items() if k != "total_iters"}
                converted, note = per_update_scheduler(kind, own, 0, form.ramp_end, counts)
                written = converted or written
                if converted:  # exact where the update windows are MMEngine's (the grad_accumulation mark)
                    note = (f"counted in updates of {counts} iterations: MMEngine's learning rate at every update "
                            f"when {_batches(by_epoch_loop)} is a multiple of {counts} (see grad_accumulation)")
            elif counts > 1:
                note += f" (an update is {counts} iterations)"
            port.setting("lr_scheduler", Call(f"torch.optim.lr_scheduler.{form.kind}", written), note or None)
            return
    described = []
    for spec in specs:
        kind = short_type(spec.get("type", "?"))
        unit = "epochs" if spec.get("by_epoch", True) else "iterations"
        span = f"{spec.get('begin', 0)}-{spec.get('end', 'end')} {unit}"
        described.append(f"{kind} {span}")
    # MMEngine's own keys (`end` too: a reserved word names a table key as it names an argument)
    schedule = [{k: v for k, v in s.items() if not contains_opaque(v)} for s in specs]
    left = [f"{k} {_show(v)}" for s in specs for k, v in s.items() if contains_opaque(v)] + unread
    stepped_once = [short_type(s.get("type", "?")) for s in specs
                    if s.get("by_epoch", True) is not False and s.get("convert_to_iter_based") is not True]
    note = schedule_note(", ".join(described), counts)
    factory_args: dict[str, Any] = {"schedule": schedule, "steps_per_epoch": RunValue("steps_per_epoch")}
    if counts > 1:  # the note counts an epoch as updates_per_epoch updates
        factory_args["updates_per_epoch"] = RunValue("updates_per_epoch")
    if stepped_once and not by_epoch_loop:
        note = epoch_scheduler_note(stepped_once)
        factory_args.pop("updates_per_epoch", None)
    if left:
        note = f"{note}; left out {', '.join(left)} (not literal values)"
    port.setting("lr_scheduler",
                 Call(port.need("lr_scheduler", "the learning-rate schedule, stepped once per update"), factory_args),
                 note)


#: MMEngine's visualizer backends and the accelerate tracker that records the same scalars.
_TRACKERS = {"LocalVisBackend": "csv", "TensorboardVisBackend": "tensorboard", "WandbVisBackend": "wandb",
             "MLflowVisBackend": "mlflow", "ClearMLVisBackend": "clearml", "AimVisBackend": "aim",
             "DVCLiveVisBackend": "dvclive"}


def _trackers(cfg: dict[str, Any]) -> tuple[list[str], str | None]:
    """``log_with`` for the ``log()`` a ``LoggerHook`` became: the trackers of ``visualizer.vis_backends``.

    ``LoggerHook`` writes through the visualizer's backends (MMEngine's default is
    ``LocalVisBackend``, scalars in a file of the work dir: ``csv`` here). Without a
    tracker ``log()`` would write nowhere (HP111).
    """
    visualizer = cfg.get("visualizer")
    backends = as_dict(visualizer).get("vis_backends")
    if visualizer is not None and not isinstance(visualizer, dict) \
            or backends is not None and not isinstance(backends, (list, tuple)):
        return ["csv"], (f"visualizer {_show(visualizer)} does not list literal vis_backends: MMEngine's default "
                         "LocalVisBackend (csv) written; name the trackers to log to")
    if backends is None:
        backends = [{"type": "LocalVisBackend"}]
    trackers: list[str] = []
    unknown: list[str] = []
    for spec in backends:
        kind = short_type(spec["type"]) if isinstance(spec, dict) and isinstance(spec.get("type"), str) else ""
        tracker = _TRACKERS.get(kind)
        if tracker is None:
            unknown.append(kind or _show(spec))
        elif tracker not in trackers:
            trackers.append(tracker)
    if unknown:
        return trackers or ["csv"], (f"visualizer.vis_backends {', '.join(unknown)} has no accelerate tracker here: "
                                     "name the trackers to log to")
    return trackers, None


def _randomness(cfg: dict[str, Any], port: Port) -> str | None:
    """``randomness.seed`` as ``seed``; the note ``deterministic=True`` leaves on the model factory, or None."""
    spec = as_dict(cfg.get("randomness"))
    seed = spec.get("seed")
    notes = []
    if spec.get("diff_rank_seed") is True:
        notes.append("randomness.diff_rank_seed adds each process's rank to the seed in MMEngine; hookpipe seeds "
                     "every process alike: seed the data per process in a factory if the run relies on it")
    deterministic = None
    if spec.get("deterministic") is True:
        deterministic = ("randomness.deterministic: hookpipe has no such setting; call "
                         "torch.use_deterministic_algorithms(True) (and turn off cudnn.benchmark) in this factory")
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        port.setting("seed", seed, "; ".join(notes) or None)
    elif seed is not None:
        port.setting("seed", 0, "; ".join([f"randomness.seed is {_show(seed)}, not an integer >= 0: set the seed",
                                           *notes]))
    return deterministic


#: A dataloader's parts that MMEngine builds from its registry: the factory builds them, so they are described.
_LOADER_PARTS = ("dataset", "sampler", "batch_sampler", "collate_fn")


def _loader(cfg: dict[str, Any], key: str, port: Port, attribute: str, what: str) -> tuple[Call, str | None]:
    """``project.ATTRIBUTE(batch_size = ..., num_workers = ...)``: the dataloader dict's plain arguments; the
    dataset, sampler and collate function it names are the factory's to build (its description names them)."""
    spec = as_dict(cfg.get(key))
    args, opaque = spec_args(spec, {*_LOADER_PARTS, "worker_init_fn", "_scope_"})
    args, unwritable = split_writable(args)
    parts = [f"{part} {short_type(type_of(spec[part]))}" for part in _LOADER_PARTS if isinstance(spec.get(part), dict)]
    described = f"{what} ({key}" + (f": {', '.join(parts)}" if parts else "")
    described += f"; taking {', '.join(args)})" if args else ")"
    note = None
    if opaque or unwritable:
        note = f"left out {key} {', '.join(opaque + unwritable)} (not literal values): give {attribute} their values"
    return Call(port.need(attribute, described), args), note


def _clip(cfg: dict[str, Any], port: Port) -> tuple[str | None, str | None]:
    """``optim_wrapper.clip_grad`` as ``grad_clip``; or, when its value cannot be read, no hook and the mark for
    ``optimize`` (a ``grad_clip`` without its value would not check)."""
    raw = as_dict(cfg.get("optim_wrapper")).get("clip_grad")
    if raw is None:
        return None, None
    clip = Spec(raw, "optim_wrapper.clip_grad")
    if not isinstance(raw, dict):
        return None, (f"optim_wrapper.clip_grad {clip.show(raw)} is not a dict: no clipping written; add a "
                      "grad_clip hook before optimize")
    if not raw:
        return None, None
    mode = clip.string("type", "norm", instead="norm written")
    if mode == "value" or ("clip_value" in clip and "max_norm" not in clip):
        value = clip.number("clip_value", None, instead="no clipping written")
        args: dict[str, Any] = {"mode": "value", "clip_value": value}
    else:
        value = clip.number("max_norm", None, instead="no clipping written")
        args = {"mode": "norm", "max_norm": value}
        norm = clip.number("norm_type", 2)
        if norm != 2:
            args["norm_type"] = float(norm)
    if value is None:
        what = "clip_value" if args["mode"] == "value" else "max_norm"
        if what not in clip:
            clip.note(f"optim_wrapper.clip_grad has no {what}: no clipping written")
        clip.note(f"add `hook clip = grad_clip(mode = \"{args['mode']}\", {what} = ...)` before optimize")
        return None, clip.mark()
    hook = Hook("clip", "grad_clip", args)
    hook.note = clip.mark()
    return port.add_hook(hook).name, None


def _mark_length(port: Port, note: str) -> None:
    """Append ``note`` to the mark of the run's length (``max_epoch``/``max_step``, always set first)."""
    setting = next(s for s in port.settings if s.key in ("max_epoch", "max_step"))
    setting.note = "; ".join(filter(None, [setting.note, note]))


def _validation(cfg: dict[str, Any], port: Port) -> str | None:
    """``evaluate`` over ``val_dataloader``; marked when ``val_cfg`` or ``val_evaluator`` is missing.

    MMEngine's Runner takes the three together or not at all (it raises ValueError
    otherwise), so a config with the loader but not both of the others is a mistake,
    not a run without validation: it is written as ``val_cfg = dict()`` would
    validate, and marked, rather than dropped without a word. Without the loader
    there is nothing to validate on: nothing is written, and the run's length is
    marked if ``val_cfg`` or ``val_evaluator`` is set (MMEngine would refuse that too).
    """
    if not cfg.get("val_dataloader"):
        given = [key for key in ("val_cfg", "val_evaluator") if cfg.get(key) is not None]
        if given:
            _mark_length(port, (
                f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but val_dataloader is not: MMEngine "
                "refuses this config (ValueError); nothing validates here: add an evaluate hook with a val_loader, or "
                f"remove {' and '.join(given)}"))
        return None
    evaluator = cfg.get("val_evaluator")
    metric = type_of(evaluator) if isinstance(evaluator, dict) else "the val_evaluator"
    callback = port.need("val_step", f"val_step(model, batch): per-sample metrics, as val_evaluator ({metric})")
    loader, note = _loader(cfg, "val_dataloader", port, "val_loader", "the validation DataLoader")
    missing = [key for key in ("val_cfg", "val_evaluator") if cfg.get(key) is None]
    if missing:
        note = "; ".join(filter(None, [
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing: MMEngine refuses "
            "val_dataloader without val_cfg and val_evaluator (ValueError); this validates as val_cfg = dict() "
            "would: delete evaluate if the run should not validate", note]))
    hook = Hook("evaluate", "validation", {"callback": callback, "dataloader": loader}, note=note)
    return port.add_hook(hook).name
