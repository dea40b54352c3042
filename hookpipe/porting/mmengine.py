"""An MMEngine config (a dict of settings) as a ``Port``.

What maps to what is documented in docs/import.md; the rules worth knowing here:

- MMEngine runs hooks of one callback by priority (lower first), ties in
  registration order (``default_hooks``, then ``custom_hooks``). The import writes
  the hooks of each phase block in that order, and written order is an ordering
  edge in ``.pipe``, so the priority survives as written order.
- MMEngine validates after the epoch's ``after_train_epoch`` hooks. The import puts
  ``evaluate`` before the epoch-end checkpoint instead, so the checkpoint records
  this epoch's metrics (which is what MMEngine's ``save_best`` does from
  ``after_val_epoch``); hooks that MMEngine runs in ``before_val_epoch``
  (``SyncNormHook``, ``PreciseBNHook``) stay before ``evaluate``.
- ``train_cfg``'s ``val_interval``, ``val_begin`` and ``dynamic_intervals`` become
  one ``evaluate`` attachment per interval with ``from``/``until``, firing at the
  epochs (or iterations) MMEngine's loop validates at, the last one included at
  any length (mmengine_validation.py).
- One ``by_epoch=False`` scheduler becomes torch's where that is exact per
  iteration (mmengine_schedulers.py), then per update under accumulation
  (mmengine_accumulation.py).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from hookpipe.compiler.catalog import EmaArgs
from hookpipe.compiler.loop import every as _every
from hookpipe.porting.mmengine_accumulation import ema_note, per_update_scheduler, schedule_note
from hookpipe.porting.mmengine_keys import (
    ENV_SETTLED,
    ENV_WHY,
    LOG_PROCESSOR_NOTHING_TO_DO,
    LOG_PROCESSOR_SETTLED,
    LOG_PROCESSOR_WHY,
    NOTHING_TO_DO,
    RUNNER_KEYS,
    RUNNER_NOTHING_TO_DO,
    RUNNER_SETTLED,
    RUNNER_WHY,
    SETTLED,
    WHY,
    Spec,
    is_int,
    is_number,
)
from hookpipe.porting.mmengine_keys import show as _show
from hookpipe.porting.mmengine_schedulers import SCHEDULER_ONLY, epoch_scheduler_note, iteration_form
from hookpipe.porting.mmengine_validation import val_firings as _val_firings
from hookpipe.porting.mmengine_validation import val_note
from hookpipe.porting.model import Attachment, Bracket, Call, Hook, Item, Port, RunValue
from hookpipe.porting.pyconfig import Opaque
from hookpipe.porting.writer import pipe_name, split_writable

#: MMEngine's priority names (mmengine.runner.priority.Priority).
PRIORITIES = {"HIGHEST": 0, "VERY_HIGH": 10, "HIGH": 30, "ABOVE_NORMAL": 40, "NORMAL": 50, "BELOW_NORMAL": 60,
              "LOW": 70, "VERY_LOW": 90, "LOWEST": 100}
#: The priorities of MMEngine's default hooks (mmengine.runner.Runner.register_default_hooks).
DEFAULT_PRIORITIES = {"runtime_info": 10, "timer": 50, "sampler_seed": 50, "logger": 60, "param_scheduler": 70,
                      "checkpoint": 90}
#: Hooks whose work hookpipe's loop, accelerate or another built-in already does: not written.
ABSORBED = {
    "RuntimeInfoHook": "the runtime keeps the epoch, step and lr itself",
    "ParamSchedulerHook": "the `optimizer` built-in steps `trainer.lr_scheduler` after each update",
    "DistSamplerSeedHook": "accelerate sets the sampler's epoch",
    "OptimizerHook": "the `optimizer` built-in",
}
#: Known third-party MMEngine hooks: import path, where they run, effect lines.
#: "before_val" hooks run in ``epoch.after`` ahead of ``evaluate``; "val_batch" ones in the validation run.
KNOWN_CUSTOM = {
    "YOLOXModeSwitchHook": ("mmdet.engine.hooks.YOLOXModeSwitchHook", "epoch.before", []),
    "PipelineSwitchHook": ("mmdet.engine.hooks.PipelineSwitchHook", "epoch.before", []),
    "SetEpochInfoHook": ("mmdet.engine.hooks.SetEpochInfoHook", "epoch.before", []),
    "SyncNormHook": ("mmdet.engine.hooks.SyncNormHook", "before_val", ["collective"]),
    "PreciseBNHook": ("mmpretrain.engine.hooks.PreciseBNHook", "before_val", ["collective", "writes params"]),
    "CheckInvalidLossHook": ("mmdet.engine.hooks.CheckInvalidLossHook", "step.after", ["reads loss"]),
    "EmptyCacheHook": ("mmengine.hooks.EmptyCacheHook", "epoch.after", []),
    "DetVisualizationHook": ("mmdet.engine.hooks.DetVisualizationHook", "val_batch", []),
    "VisualizationHook": ("mmpretrain.engine.hooks.VisualizationHook", "val_batch", []),
    "SegVisualizationHook": ("mmseg.engine.hooks.SegVisualizationHook", "val_batch", []),
}
#: MMEngine optimizers that are torch's under the same name (its schedulers: mmengine_schedulers.py).
TORCH_OPTIMIZERS = {"SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "RMSprop", "NAdam", "RAdam", "LBFGS",
                    "Rprop", "ASGD", "SparseAdam"}


@dataclass
class _Ported:
    hook: str
    placement: str  # "step.after", "epoch.before", "epoch.after", "before_val", "val_batch", "loop.after"
    priority: int
    order: int
    note: str | None = None
    modifiers: str = ""


@dataclass
class _Run:
    """What the hooks' translations need to know of the run: its loop, folders and validation."""

    by_epoch: bool
    work_dir: str
    #: the mark of every line that uses ``work_dir`` (a work_dir the import could not read), or None
    work_dir_note: str | None
    evaluate: str | None
    #: the validation's unit ("epoch"/"step"), interval, first firing, and whether its interval changes
    val: tuple[str, int, int, bool] | None


#: MMEngine's training loops by the unit they count in.
_ITER_LOOPS = ("IterBasedTrainLoop", "mmengine.IterBasedTrainLoop")
_EPOCH_LOOPS = ("EpochBasedTrainLoop", "mmengine.EpochBasedTrainLoop")


def port_mmengine(cfg: dict[str, Any], name: str, source: str, module: str | None = None) -> Port:
    """The ``Port`` of a merged MMEngine config (``Config.fromfile(...).to_dict()`` or ``read_config``)."""
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
    if is_int(length) and length >= 1:
        port.setting("max_epoch" if by_epoch else "max_step", length)
    else:
        port.setting("max_epoch" if by_epoch else "max_step", 1,
                     f"train_cfg.{length_key} is missing or not a number ({_show(length)}): set the run's length")
    length_notes, train.notes = train.notes, []
    loop = _validation_loop(train, by_epoch)
    deterministic = _randomness(cfg, port)
    work_dir, work_note = _work_dir(top, source)
    port.setting("model", Call(port.need("build_model", f"the model (MMEngine builds {_type_of(cfg.get('model'))} "
                                                        "from its registry)")), deterministic)
    loader, note = _loader(cfg, "train_dataloader", port, "train_loader", "the training DataLoader")
    port.setting("dataloader", loader, note)
    _optimizer(cfg, port, top)
    _scheduler(cfg, port, by_epoch, length)
    port.setting("batch_processor", Call(port.need("Processor", "a batch processor computing the loss (the "
                                                                "model's train_step)")))

    ported: list[_Ported] = []
    order = 0
    clip, clip_note = _clip(cfg, port)
    optimize = port.add_hook(Hook("optimize", "optimizer", note=clip_note))
    evaluate = _validation(cfg, port)
    run = _Run(by_epoch, work_dir, work_note, evaluate, _val_summary(loop, by_epoch) if evaluate else None)
    default_hooks = top.get("default_hooks")
    if default_hooks is not None and not isinstance(default_hooks, dict):
        _mark_length(port, f"default_hooks {_show(default_hooks)} is not a dict of hooks: none of MMEngine's "
                           "default hooks is written; write them by hand")
    for key, spec in _dict(default_hooks).items():
        if spec is None:
            continue  # `checkpoint=None`: MMEngine leaves that default hook out
        if not isinstance(spec, dict):
            _mark_length(port, f"default_hooks.{key} {_show(spec)} is not a dict: not written; write it by hand")
            continue
        ported += _hook(spec, port, DEFAULT_PRIORITIES.get(key, 50), order, run, key)
        order += 1
    custom_hooks = top.get("custom_hooks")
    if custom_hooks is not None and not isinstance(custom_hooks, (list, tuple)):
        _mark_length(port, f"custom_hooks {_show(custom_hooks)} is not a list of hooks: not written; write them "
                           "by hand")
        custom_hooks = []
    for spec in custom_hooks or []:
        if isinstance(spec, dict):
            ported += _hook(spec, port, 50, order, run, None)
            order += 1
        else:
            _mark_length(port, f"custom_hooks entry {_show(spec)} is not a dict: not written; write it by hand")
    ported.sort(key=lambda p: (p.priority, p.order))
    logger = next((h for h in port.hooks if h.callee == "log"), None)
    if logger is not None:
        trackers, tracker_note = _trackers(cfg)
        port.setting("log_with", trackers, tracker_note)
        port.setting("log_dir", _under(work_dir, "logs"), work_note)
    _log_processor(top, port, logger)
    _runtime_keys(top, port, train, length_notes)

    head: list[Item] = [Attachment(clip)] if clip else []
    head.append(Attachment(optimize.name))
    ema = next((h for h in port.hooks if h.callee == "ema"), None)
    if ema is not None:
        head.append(Attachment(ema.name))
        counts = _accumulation(cfg)
        if counts > 1:
            ema.note = "; ".join(filter(None, [ema.note, ema_note(ema.args, counts)]))
    for p in ported:
        if p.placement == "epoch.before":
            port.attach(("loop", "epoch"), "before", _attachment(p))
    val_items: list[Item] = [_attachment(p) for p in ported if p.placement == "before_val"]
    if evaluate is not None:
        swap = next((h for h in port.hooks if h.callee == "ema_swap"), None)
        val_mark = "; ".join(filter(None, [*loop.pop("_notes"), val_note(loop, by_epoch)])) or None
        evaluations = [Attachment(evaluate, mods, val_mark) for mods in _val_firings(loop, by_epoch)]
        val_items += [Bracket(swap.name, evaluations)] if swap else evaluations
        for p in ported:
            if p.placement == "val_batch":
                port.attach_validation(evaluate, ("validation", "batch"), "after", _attachment(p))
    step_items: list[Item] = [_attachment(p) for p in ported if p.placement == "step.after"]
    if by_epoch:
        port.phases[(("loop", "epoch", "step"), "after")] = head + step_items
        end_items = val_items + [_attachment(p) for p in ported if p.placement == "epoch.after"]
        if end_items:
            port.phases[(("loop", "epoch"), "after")] = end_items
    else:
        port.phases[(("loop", "epoch", "step"), "after")] = head + val_items + step_items
        epoch_items: list[Item] = [_attachment(p) for p in ported if p.placement == "epoch.after"
                                   and p.modifiers == ""]
        if epoch_items:
            port.phases[(("loop", "epoch"), "after")] = epoch_items
    for p in ported:
        if p.placement == "loop.after":
            port.attach(("loop",), "after", _attachment(p))
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


def _under(folder: str, name: str) -> str:
    return posixpath.join(folder, name) if folder != "." else name


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
        batch = _dict(top.get("train_dataloader")).get("batch_size")
        factor = f"{batch}/{base} = {batch / base:.6g} on one process" if is_number(batch) and base else "batch/base"
        note = (f"auto_scale_lr is enabled: MMEngine multiplies the lr by processes x batch_size / base_batch_size "
                f"{base} ({factor}): write the scaled lr")
    setting = next(s for s in port.settings if s.key == "optimizer")
    setting.note = "; ".join(filter(None, [setting.note, note]))


def _attachment(p: _Ported) -> Attachment:
    return Attachment(p.hook, p.modifiers, p.note)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _type_of(spec: Any) -> str:
    return str(_dict(spec).get("type", "a registry type"))


def _short(type_name: Any) -> str:
    """``mmdet.QuadraticWarmupLR`` -> ``QuadraticWarmupLR`` (a registry scope prefix dropped)."""
    return str(type_name).rsplit(".", 1)[-1]


def _args(spec: dict[str, Any], drop: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The arguments of a ``dict(type=..., ...)`` spec; the names of those left out as unreadable."""
    args, opaque = {}, []
    for key, value in spec.items():
        if key in drop or key == "type":
            continue
        if _contains_opaque(value):
            opaque.append(key)
        else:
            args[key] = value
    return args, opaque


def _contains_opaque(value: Any) -> bool:
    if isinstance(value, Opaque):
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_opaque(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_opaque(v) for v in value.values())
    return False


def _optimizer(cfg: dict[str, Any], port: Port, top: Spec) -> None:
    wrapper = Spec(top.get("optim_wrapper"), "optim_wrapper", {"loss_scale": ("dynamic",)},
                   {"loss_scale": "accelerate's fp16 scales the loss dynamically"})
    spec = _dict(wrapper.take("optimizer"))
    kind = _short(spec.get("type", ""))
    args, opaque = _args(spec, set())
    notes = []
    if opaque:
        notes.append(f"left out {', '.join(f'{k} {_show(spec[k])}' for k in opaque)} (not literal values)")
    if wrapper.take("paramwise_cfg") is not None:
        notes.append("optim_wrapper.paramwise_cfg sets per-parameter options: build the parameter groups in a "
                     "factory")
    wrapper_type = _short(wrapper.string("type", "OptimWrapper", instead="ported as an OptimWrapper"))
    wrapper.take_all(("clip_grad",))  # _clip
    counts = _accumulation(cfg, wrapper)
    if counts > 1:
        port.setting("grad_accumulation", counts)
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
        counts = _dict(cfg.get("optim_wrapper")).get("accumulative_counts")
    return counts if is_int(counts) and counts > 1 else 1


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
        kind = _short(spec.get("type", ""))
        args, opaque = _args(spec, set(SCHEDULER_ONLY))
        default_end = None if by_epoch_loop or not isinstance(length, int) else length
        opaque += [key for key in ("begin", "end") if _contains_opaque(spec.get(key))]
        form = None if opaque else iteration_form(kind, args, spec.get("begin", 0), spec.get("end"), default_end)
        if form is not None:
            written, note = form.args, form.note
            if counts > 1 and not note:  # MMEngine still steps it every iteration, hookpipe once per update
                own = {k: v for k, v in written.items() if k != "total_iters"}
                converted, note = per_update_scheduler(kind, own, 0, form.ramp_end, counts)
                written = converted or written
            elif counts > 1:
                note += f" (an update is {counts} iterations)"
            port.setting("lr_scheduler", Call(f"torch.optim.lr_scheduler.{form.kind}", written), note or None)
            return
    described = []
    for spec in specs:
        kind = _short(spec.get("type", "?"))
        unit = "epochs" if spec.get("by_epoch", True) else "iterations"
        span = f"{spec.get('begin', 0)}-{spec.get('end', 'end')} {unit}"
        described.append(f"{kind} {span}")
    # MMEngine's own keys (`end` too: a reserved word names a table key as it names an argument)
    schedule = [{k: v for k, v in s.items() if not _contains_opaque(v)} for s in specs]
    left = [f"{k} {_show(v)}" for s in specs for k, v in s.items() if _contains_opaque(v)] + unread
    stepped_once = [_short(s.get("type", "?")) for s in specs
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
    backends = _dict(visualizer).get("vis_backends")
    if visualizer is not None and not isinstance(visualizer, dict) \
            or backends is not None and not isinstance(backends, (list, tuple)):
        return ["csv"], (f"visualizer {_show(visualizer)} does not list literal vis_backends: MMEngine's default "
                         "LocalVisBackend (csv) written; name the trackers to log to")
    if backends is None:
        backends = [{"type": "LocalVisBackend"}]
    trackers: list[str] = []
    unknown: list[str] = []
    for spec in backends:
        kind = _short(spec["type"]) if isinstance(spec, dict) and isinstance(spec.get("type"), str) else ""
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
    spec = _dict(cfg.get("randomness"))
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
    spec = _dict(cfg.get(key))
    args, opaque = _args(spec, {*_LOADER_PARTS, "worker_init_fn", "_scope_"})
    args, unwritable = split_writable(args)
    parts = [f"{part} {_short(_type_of(spec[part]))}" for part in _LOADER_PARTS if isinstance(spec.get(part), dict)]
    described = f"{what} ({key}" + (f": {', '.join(parts)}" if parts else "")
    described += f"; taking {', '.join(args)})" if args else ")"
    note = None
    if opaque or unwritable:
        note = f"left out {key} {', '.join(opaque + unwritable)} (not literal values): give {attribute} their values"
    return Call(port.need(attribute, described), args), note


def _clip(cfg: dict[str, Any], port: Port) -> tuple[str | None, str | None]:
    """``optim_wrapper.clip_grad`` as ``grad_clip``; or, when its value cannot be read, no hook and the mark for
    ``optimize`` (a ``grad_clip`` without its value would not check)."""
    raw = _dict(cfg.get("optim_wrapper")).get("clip_grad")
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
    metric = _type_of(evaluator) if isinstance(evaluator, dict) else "the val_evaluator"
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


def _hook(raw: dict[str, Any], port: Port, default_priority: int, order: int, run: _Run,
          key: str | None) -> list[_Ported]:
    """One hook of ``default_hooks`` (``key``) or ``custom_hooks``; every argument is translated or marked."""
    type_name = raw.get("type", _default_type(key))
    kind = _short(type_name) if isinstance(type_name, str) else ""
    spec = Spec(raw, kind or "hook", SETTLED.get(kind), WHY.get(kind), ("type", *NOTHING_TO_DO.get(kind, ())))
    priority = _priority(spec, default_priority)
    if not isinstance(type_name, str):
        spec.note(f"hook type {spec.show(type_name)} is not a literal string")
        return [_custom("unnamed.Hook", spec, port, priority, order, run.evaluate)]
    if kind in ABSORBED:
        return []
    if kind == "IterTimerHook":
        hook = port.add_hook(Hook("timer", "throughput", {"progress": False}))
        hook.note = spec.mark()
        return [_Ported(hook.name, "step.after", priority, order)]
    if kind == "LoggerHook":
        return _logger(spec, port, priority, order, run)
    if kind == "CheckpointHook":
        return _checkpoint(spec, port, priority, order, run)
    if kind == "EMAHook":
        return _ema(spec, port, run.evaluate)
    if kind == "EarlyStoppingHook":
        return _early_stop(spec, port, priority, order, run.evaluate)
    switch = "draw" if kind in {"DetVisualizationHook", "SegVisualizationHook"} else \
        "enable" if kind == "VisualizationHook" else None
    if switch is not None and spec.get(switch) in (None, False):
        return []  # these draw nothing unless `draw` (MMDet, MMSeg) or `enable` (MMPretrain) is set; another value
        # (an expression) is written, and named as left out in its mark
    return [_custom(type_name, spec, port, priority, order, run.evaluate)]


def _logger(spec: Spec, port: Port, priority: int, order: int, run: _Run) -> list[_Ported]:
    """``LoggerHook``: ``log()`` where MMEngine's ``after_train_iter`` logs, and after each validation.

    In an ``EpochBasedTrainLoop`` MMEngine logs when ``(batch_idx + 1) % interval == 0``,
    ``batch_idx`` the batch's index in its epoch (``every_n_inner_iters``): ``every N
    batches``, counted from 1 again each epoch; with ``ignore_last=False`` also at the
    epoch's last batch (``end_of_epoch``), the shorter window's record: ``and at end``.
    ``after_val_epoch`` logs the validation's results: ``log()`` in ``epoch.after``.
    """
    interval = spec.integer("interval", 10)
    hook = port.add_hook(Hook("logger", "log"))
    if not run.by_epoch:
        # An iteration loop has no epochs to log at: a log at the end of each pass over the
        # data would add records MMEngine never writes. The last one flushes the run's end.
        hook.note = spec.mark()
        every = _every(interval, "step") + " and at end" if interval >= 1 else None
        return [_Ported(hook.name, "step.after" if every else "loop.after", priority, order, modifiers=every or "")]
    last = not spec.boolean("ignore_last", True)
    if last and interval < 1:
        spec.note(f"LoggerHook interval {interval} with ignore_last=False: MMEngine logs each epoch's last batch only; "
                  f"here log() logs at the epoch's end{', after the validation' if run.evaluate else ''}")
    hook.note = spec.mark()
    out = [_Ported(hook.name, "epoch.after", priority, order)]
    if interval >= 1:  # MMEngine logs no step by interval below 1
        every = _every(interval, "batch") + (" and at end" if last and interval > 1 else "")
        out.insert(0, _Ported(hook.name, "step.after", priority, order, modifiers=every))
    return out


def _priority(spec: Spec, default: int) -> int:
    """The hook's ``priority`` (a number or one of MMEngine's names); another value is noted, the default written."""
    value = spec.take("priority")
    if value is None:
        return default
    if is_int(value):
        return value
    if isinstance(value, str) and value.upper() in PRIORITIES:
        return PRIORITIES[value.upper()]
    spec.note(f"{spec.where}.priority {spec.show(value)} is not a number or a priority name: MMEngine's default "
              "place written; order it by hand")
    return default


def _default_type(key: str | None) -> str:
    return {"timer": "IterTimerHook", "logger": "LoggerHook", "param_scheduler": "ParamSchedulerHook",
            "checkpoint": "CheckpointHook", "sampler_seed": "DistSamplerSeedHook",
            "runtime_info": "RuntimeInfoHook"}.get(key or "", key or "?")


#: MMEngine's CheckpointHook infers a rule from the metric's name (``_default_greater_keys``/``_default_less_keys``).
_GREATER_KEYS = ("acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc")
_LESS_KEYS = ("loss",)


def _rule_mode(metric: str, rule: Any, greater: Any, less: Any) -> str | None:
    """``max``/``min`` for ``rule`` (``greater``/``less``), or as MMEngine infers it from ``metric``'s name; None
    where MMEngine cannot (it refuses the config) or for ``auto`` (the first metric, known at run time)."""
    if rule in ("greater", "less"):
        return "max" if rule == "greater" else "min"
    if rule is not None or metric == "auto":
        return None
    greater_keys = {k.lower() for k in (greater if isinstance(greater, (list, tuple)) else [greater]
                                        if isinstance(greater, str) else _GREATER_KEYS) if isinstance(k, str)}
    less_keys = {k.lower() for k in (less if isinstance(less, (list, tuple)) else [less]
                                     if isinstance(less, str) else _LESS_KEYS) if isinstance(k, str)}
    name = metric.lower()
    for keys, mode in ((greater_keys, "max"), (less_keys, "min")):
        if name in keys:
            return mode
    for keys, mode in ((greater_keys, "max"), (less_keys, "min")):
        if any(k in name for k in keys):
            return mode
    return None


def _checkpoint(spec: Spec, port: Port, priority: int, order: int, run: _Run) -> list[_Ported]:
    """``CheckpointHook``: into ``<work_dir>/checkpoints`` (MMEngine saves into ``work_dir`` itself, beside its logs),
    or ``<out_dir>/<basename of work_dir>`` with ``out_dir``, as MMEngine does; periodic saves, ``save_last``,
    ``save_begin`` (``from``) and one ``save_best`` metric."""
    interval = spec.integer("interval", -1, instead="no periodic save written")
    by_epoch = spec.boolean("by_epoch", True)
    save_last = spec.boolean("save_last", True)
    begin = spec.integer("save_begin", 0)
    keep = spec.integer("max_keep_ckpts", -1, instead="every checkpoint kept")
    out_dir = spec.string("out_dir", None, instead="saved under the work_dir")
    notes: list[str | None] = [run.work_dir_note]
    if isinstance(out_dir, str) and out_dir.strip():
        folder = _under(out_dir.rstrip("/") or "/", posixpath.basename(run.work_dir.rstrip("/")) or "work_dir")
    else:
        folder = _under(run.work_dir, "checkpoints")
    args: dict[str, Any] = {"dir": folder}
    if keep >= 1:
        args["keep_last"] = keep
    unit_epoch = by_epoch and run.by_epoch
    firing: tuple[str, int, int] | None = None  # the periodic saves: unit, interval, first
    out = []
    if by_epoch and not run.by_epoch:
        # MMEngine's CheckpointHook saves a by_epoch checkpoint in after_train_epoch, which an IterBasedTrainLoop
        # calls once, after its last iteration (runner.epoch 0, max_epochs 1): every_n_epochs(interval, save_begin)
        # or save_last and is_last_train_epoch
        at_end = save_last or (interval >= 1 and 0 <= 1 - begin and (1 - begin) % interval == 0)
        notes.append("CheckpointHook by_epoch is left on (MMEngine's default) in an IterBasedTrainLoop: MMEngine "
                     + ("saves once, at the run's end" if at_end else "never saves")
                     + ", as here; set by_epoch=False in the config to save every N iterations")
        if at_end:
            out.append(_Ported("", "loop.after", priority, order))
    else:
        if interval >= 1:
            unit = "epoch" if unit_epoch else "step"
            start = begin if begin >= 1 else interval  # MMEngine: (count - save_begin) % interval == 0, count >= 1
            modifiers = _every(interval, unit) + (f" from {start}" if start != interval else "")
            out.append(_Ported("", "epoch.after" if unit_epoch else "step.after", priority, order,
                               modifiers=modifiers))
            firing = (unit, interval, start)
        if save_last:
            out.append(_Ported("", "loop.after", priority, order))
    notes += _best(spec, args, run, firing)
    hook = port.add_hook(Hook("save", "checkpoint", args))
    hook.note = spec.mark(*(n for n in notes if n))
    for p in out:
        p.hook = hook.name
    return out


def _best(spec: Spec, args: dict[str, Any], run: _Run, firing: tuple[str, int, int] | None) -> list[str]:
    """``save_best``/``rule`` as ``monitor``/``mode``/``keep_best = 1`` in ``args``; the notes of what differs."""
    best = spec.take("save_best")
    rule = spec.take("rule")
    greater, less = spec.take("greater_keys"), spec.take("less_keys")
    if best is None:
        if rule is not None:
            spec.note(f"CheckpointHook rule {spec.show(rule)} without save_best: nothing to rank")
        return []
    metrics = [best] if isinstance(best, str) else list(best) if isinstance(best, (list, tuple)) and best \
        and all(isinstance(m, str) for m in best) else None
    rules = [rule] if rule is None or isinstance(rule, str) else list(rule) if isinstance(rule, (list, tuple)) \
        and rule and all(r is None or isinstance(r, str) for r in rule) else None
    if metrics is None:
        return [f"CheckpointHook save_best {spec.show(best)} is not a literal metric name or list of them: no best "
                "checkpoint kept; add monitor, mode and keep_best by hand"]
    if rules is None:
        spec.note(f"CheckpointHook rule {spec.show(rule)} is not a literal 'greater' or 'less': the mode MMEngine "
                  "infers from the metric's name written; set it by hand")
        rules = [None]
    if run.evaluate is None:
        return [f"CheckpointHook save_best {spec.show(best)}: nothing validates here, so no best checkpoint is kept"]
    notes = []
    metric, first_rule = metrics[0], rules[0]
    mode = _rule_mode(metric, first_rule, greater, less)
    args["monitor"] = f"{run.evaluate}.{pipe_name(metric if metric != 'auto' else 'metric')}"
    args["mode"] = mode or "max"
    args["keep_best"] = 1
    notes.append(f"save_best = {metric!r}: the monitor names the metric {run.evaluate}'s callback returns; check "
                 "its name and mode")
    if mode is None and metric != "auto":
        notes.append(f"MMEngine cannot rank {metric!r} with rule {spec.show(first_rule)} (it refuses the config): "
                     "mode max written; set it")
    if len(metrics) > 1:
        ranked = ", ".join(f"{m} ({rules[i] if len(rules) > 1 else first_rule or 'inferred'})"
                           for i, m in enumerate(metrics))
        notes.append(f"save_best lists {len(metrics)} metrics, {ranked}: MMEngine keeps the best checkpoint of "
                     "each; this ranks by the first only")
    if run.val is not None and not _saves_at_every_validation(firing, run.val):
        unit, every, first, _ = run.val
        saves = f"every {firing[1]} {firing[0]}s from {firing[2]}" if firing else "at the run's end only"
        notes.append(f"MMEngine saves the best checkpoint at each validation ({_every(every, unit)} from {first}); "
                     f"this one ranks only the checkpoints it saves ({saves}): attach it as often as evaluate for "
                     "MMEngine's choice")
    return notes


def _saves_at_every_validation(firing: tuple[str, int, int] | None, val: tuple[str, int, int, bool]) -> bool:
    """Whether the periodic saves fire at every validation (then ranking them is MMEngine's ``save_best``)."""
    if firing is None:
        return False
    unit, every, start = firing
    val_unit, val_every, first, dynamic = val
    if unit != val_unit:
        return False
    if dynamic:
        return every == 1 and start <= first
    return val_every % every == 0 and first >= start and (first - start) % every == 0


#: The ``gamma`` default of MMEngine's EMA types (``mmengine.model.averaged_model``).
_EMA_GAMMA = {"ExpMomentumEMA": 2000, "MomentumAnnealingEMA": 100}


def _ema(spec: Spec, port: Port, evaluate: str | None) -> list[_Ported]:
    """``EMAHook``: MMEngine writes the new value's weight (``momentum``), the ``ema`` built-in the decay.

    A ``gamma`` the config gives is written; without one MMEngine's default is, where
    it is not the ``ema`` hook's (2000, ``ExpMomentumEMA``'s): ``MomentumAnnealingEMA``
    anneals with 100 in MMEngine, and would with 2000 here.
    """
    kind = _short(spec.string("ema_type", "ExponentialMovingAverage", instead="ported as ExponentialMovingAverage"))
    momentum = spec.take("momentum", 0.0002)
    args: dict[str, Any] = {}
    notes: list[str] = []
    if is_number(momentum) and 0 < momentum < 1:
        args["decay"] = round(1 - momentum, 12)
    else:
        notes.append(f"EMAHook momentum {_show(momentum)}: set decay (1 - momentum) by hand")
    if kind == "ExponentialMovingAverage":
        args["warmup"] = False
    elif kind in ("ExpMomentumEMA", "MomentumAnnealingEMA"):
        args["momentum"] = "exp" if kind == "ExpMomentumEMA" else "linear"
        gamma = spec.take("gamma")
        if gamma is None and _EMA_GAMMA[kind] != EmaArgs.model_fields["gamma"].default:
            args["gamma"] = _EMA_GAMMA[kind]
        elif is_int(gamma) and gamma >= 1:
            args["gamma"] = gamma
        elif gamma is not None:
            notes.append(f"EMAHook gamma {_show(gamma)} is not an integer >= 1: set gamma by hand")
    else:
        notes.append(f"EMA type {kind}: the `ema` built-in has no such ramp; choose warmup or momentum by hand")
    if spec.boolean("update_buffers", False):
        args["buffers"] = True
    interval = spec.integer("interval", 1)
    if interval != 1:
        decay = args.get("decay")
        about = f" = {decay ** (1 / interval):.8g}" if isinstance(decay, float) and interval >= 1 else ""
        notes.append(f"EMAHook interval {interval}: MMEngine averages every {interval}th iteration, ema after every "
                     f"update: set decay to about decay^(1/{interval}){about} by hand")
    begin_iter = spec.integer("begin_iter", 0)
    begin_epoch = spec.integer("begin_epoch", 0)
    if begin_epoch > 0:
        notes.append(f"EMAHook begin_epoch {begin_epoch}: MMEngine averages from epoch {begin_epoch} on (before, the "
                     f"average is the live weights): attach ema `every step from K`, K the first step of epoch "
                     f"{begin_epoch}, {begin_epoch - 1} x steps per epoch + 1")
    elif begin_iter > 0:
        notes.append(f"EMAHook begin_iter {begin_iter}: MMEngine averages from iteration {begin_iter} on (before, the "
                     f"average is the live weights): attach ema `every step from {begin_iter}`")
    average = port.add_hook(Hook("ema", "ema", args, note=spec.mark(*notes)))
    if evaluate is not None:
        port.add_hook(Hook("swap", "ema_swap", {"source": average.name}))
    return []


def _early_stop(spec: Spec, port: Port, priority: int, order: int, evaluate: str | None) -> list[_Ported]:
    metric = spec.string("monitor", None, instead="left as 'metric'")
    rule = spec.take("rule")
    notes = []
    mode = _rule_mode(metric or "metric", rule, None, None)  # MMEngine infers it from the name as CheckpointHook
    if mode is None:
        notes.append(f"EarlyStoppingHook rule {spec.show(rule)}: MMEngine cannot rank {metric!r} by it (it refuses "
                     "the config): mode min written")
    args: dict[str, Any] = {"monitor": f"{evaluate or 'evaluate'}.{pipe_name(metric or 'metric')}",
                            "mode": mode or "min"}
    patience = spec.integer("patience", 5)
    args["patience"] = patience if patience >= 1 else 1
    delta = spec.number("min_delta", 0.1)
    if delta > 0:
        args["min_delta"] = float(delta)
    hook = port.add_hook(Hook("stop", "early_stop", args))
    hook.note = spec.mark(f"monitor {metric!r}: name the metric the validation callback returns; check mode", *notes)
    return [_Ported(hook.name, "epoch.after", priority, order)]


def _custom(kind: str, spec: Spec, port: Port, priority: int, order: int, evaluate: str | None) -> _Ported:
    path, placement, effects = KNOWN_CUSTOM.get(_short(kind), (kind, "", []))
    args, opaque = _args(spec, {"priority", "type"})
    spec.take_all(spec.keys())
    note = f"MMEngine hook {kind}: port it to a hookpipe hook class"
    if placement == "val_batch":
        note += (" (its after_val_iter is the class's on_validation_batch_end(args): args.batch, args.model_outputs, "
                 "args.step_id the validation batch id)")
    if not placement:
        note += " and attach it where its before_*/after_* methods run"
        placement = "epoch.after"
    if opaque:
        note += f"; left out {', '.join(f'{k} {spec.show(spec[k])}' for k in opaque)}"
    if placement in ("before_val", "val_batch") and evaluate is None:
        placement = "epoch.after"
    modifiers = ""
    interval = args.get("interval")
    if placement == "val_batch" and is_int(interval) and interval >= 1:
        # MMEngine's every_n_inner_iters(batch_idx, interval): (batch_idx + 1) % interval == 0
        del args["interval"]
        modifiers = "" if interval == 1 else f"every {interval} batches"
    hook = port.add_hook(Hook(pipe_name(kind), path, args, builtin=False, effects=list(effects),
                              note=spec.mark(note)))
    return _Ported(hook.name, placement, priority, order, modifiers=modifiers)
