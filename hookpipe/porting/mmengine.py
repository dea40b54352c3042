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

from dataclasses import dataclass
from typing import Any

from hookpipe.compiler.catalog import EmaArgs
from hookpipe.porting.mmengine_accumulation import ema_note, per_update_scheduler, schedule_note
from hookpipe.porting.mmengine_schedulers import SCHEDULER_ONLY, epoch_scheduler_note, iteration_form
from hookpipe.porting.mmengine_validation import every as _every
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


def port_mmengine(cfg: dict[str, Any], name: str, source: str, module: str | None = None) -> Port:
    """The ``Port`` of a merged MMEngine config (``Config.fromfile(...).to_dict()`` or ``read_config``)."""
    port = Port(name=name, source=source, kind="mmengine", module=module)
    loop = _dict(cfg.get("train_cfg"))
    by_epoch = loop.get("type", "EpochBasedTrainLoop") not in ("IterBasedTrainLoop", "mmengine.IterBasedTrainLoop") \
        and "max_iters" not in loop
    length_key, unit = ("max_epochs", "epoch") if by_epoch else ("max_iters", "step")
    length = loop.get(length_key)
    if isinstance(length, int) and length >= 1:
        port.setting("max_epoch" if by_epoch else "max_step", length)
    else:
        port.setting("max_epoch" if by_epoch else "max_step", 1,
                     f"train_cfg.{length_key} is missing or not a number ({_show(length)}): set the run's length")
    deterministic = _randomness(cfg, port)
    port.setting("model", Call(port.need("build_model", f"the model (MMEngine builds {_type_of(cfg.get('model'))} "
                                                        "from its registry)")), deterministic)
    loader, note = _loader(cfg, "train_dataloader", port, "train_loader", "the training DataLoader")
    port.setting("dataloader", loader, note)
    _optimizer(cfg, port)
    _scheduler(cfg, port, by_epoch, length)
    port.setting("batch_processor", Call(port.need("Processor", "a batch processor computing the loss (the "
                                                                "model's train_step)")))

    ported: list[_Ported] = []
    order = 0
    clip = _clip(cfg, port)
    optimize = port.add_hook(Hook("optimize", "optimizer"))
    evaluate = _validation(cfg, port)
    default_hooks = _dict(cfg.get("default_hooks"))
    for key, spec in default_hooks.items():
        if not isinstance(spec, dict):
            continue
        priority = _priority(spec.get("priority"), DEFAULT_PRIORITIES.get(key, 50))
        ported += _hook(spec, port, priority, order, by_epoch, evaluate, key)
        order += 1
    for spec in cfg.get("custom_hooks") or []:
        if isinstance(spec, dict):
            ported += _hook(spec, port, _priority(spec.get("priority"), 50), order, by_epoch, evaluate, None)
            order += 1
    ported.sort(key=lambda p: (p.priority, p.order))
    if any(h.callee == "log" for h in port.hooks):
        trackers, tracker_note = _trackers(cfg)
        port.setting("log_with", trackers, tracker_note)

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
        evaluations = [Attachment(evaluate, mods, val_note(loop, by_epoch)) for mods in _val_firings(loop, by_epoch)]
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


def _attachment(p: _Ported) -> Attachment:
    return Attachment(p.hook, p.modifiers, p.note)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _show(value: Any) -> str:
    return value.source if isinstance(value, Opaque) else repr(value)


def _type_of(spec: Any) -> str:
    return str(_dict(spec).get("type", "a registry type"))


def _short(type_name: Any) -> str:
    """``mmdet.QuadraticWarmupLR`` -> ``QuadraticWarmupLR`` (a registry scope prefix dropped)."""
    return str(type_name).rsplit(".", 1)[-1]


def _priority(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in PRIORITIES:
        return PRIORITIES[value.upper()]
    return default


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


def _optimizer(cfg: dict[str, Any], port: Port) -> None:
    wrapper = _dict(cfg.get("optim_wrapper"))
    spec = _dict(wrapper.get("optimizer"))
    kind = _short(spec.get("type", ""))
    args, opaque = _args(spec, set())
    notes = []
    if opaque:
        notes.append(f"left out {', '.join(opaque)} (not literal values)")
    if "paramwise_cfg" in wrapper:
        notes.append("optim_wrapper.paramwise_cfg sets per-parameter options: build the parameter groups in a "
                     "factory")
    if kind in TORCH_OPTIMIZERS:
        port.setting("optimizer", Call(f"torch.optim.{kind}", args), "; ".join(notes) or None)
    else:
        port.setting("optimizer", Call(port.need("optimizer", f"the optimizer ({kind or 'no type given'})"), args),
                     "; ".join(notes) or None)
    counts = _accumulation(cfg)
    if counts > 1:
        port.setting("grad_accumulation", counts)
    if _short(wrapper.get("type", "")) == "AmpOptimWrapper":
        dtype = wrapper.get("dtype")
        port.setting("mixed_precision", "bf16" if dtype in ("bfloat16", "bf16") else "fp16")


def _accumulation(cfg: dict[str, Any]) -> int:
    """``optim_wrapper.accumulative_counts``: the iterations per optimizer update (1 when not a count above 1)."""
    counts = _dict(cfg.get("optim_wrapper")).get("accumulative_counts")
    return counts if isinstance(counts, int) and not isinstance(counts, bool) and counts > 1 else 1


def _scheduler(cfg: dict[str, Any], port: Port, by_epoch_loop: bool, length: Any) -> None:
    """``lr_scheduler``: one iteration-based scheduler as torch's (mmengine_schedulers.py; counted in updates under
    accumulation, where exact), anything else as a marked factory call."""
    counts = _accumulation(cfg)
    schedules = cfg.get("param_scheduler")
    if isinstance(schedules, dict):
        schedules = [schedules]
    if not isinstance(schedules, list) or not schedules:
        return
    specs = [s for s in schedules if isinstance(s, dict)]
    if len(specs) == 1 and specs[0].get("by_epoch", True) is False:  # MMEngine steps it every iteration
        spec = specs[0]
        kind = _short(spec.get("type", ""))
        args, opaque = _args(spec, set(SCHEDULER_ONLY))
        default_end = None if by_epoch_loop or not isinstance(length, int) else length
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
    stepped_once = [_short(s.get("type", "?")) for s in specs
                    if s.get("by_epoch", True) is not False and s.get("convert_to_iter_based") is not True]
    note = schedule_note(", ".join(described), counts)
    if stepped_once and not by_epoch_loop:
        note = epoch_scheduler_note(stepped_once)
    port.setting("lr_scheduler",
                 Call(port.need("lr_scheduler", "the learning-rate schedule, stepped once per update"),
                      {"schedule": schedule, "steps_per_epoch": RunValue("steps_per_epoch")}), note)


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
    backends = _dict(cfg.get("visualizer")).get("vis_backends")
    if not isinstance(backends, list):
        backends = [{"type": "LocalVisBackend"}]
    trackers: list[str] = []
    unknown: list[str] = []
    for spec in backends:
        kind = _short(spec.get("type", "")) if isinstance(spec, dict) else ""
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


def _clip(cfg: dict[str, Any], port: Port) -> str | None:
    clip = _dict(_dict(cfg.get("optim_wrapper")).get("clip_grad"))
    if not clip:
        return None
    if clip.get("type") == "value" or ("clip_value" in clip and "max_norm" not in clip):
        hook = Hook("clip", "grad_clip", {"mode": "value", "clip_value": clip.get("clip_value")})
    else:
        args: dict[str, Any] = {"mode": "norm", "max_norm": clip.get("max_norm")}
        if isinstance(clip.get("norm_type"), (int, float)) and clip.get("norm_type") != 2:
            args["norm_type"] = float(clip["norm_type"])
        hook = Hook("clip", "grad_clip", args)
    if any(v is None or isinstance(v, Opaque) for v in hook.args.values()):
        hook.note = f"optim_wrapper.clip_grad is {_show(clip)}: give the clipping's value"
        hook.args = {k: v for k, v in hook.args.items() if v is not None and not isinstance(v, Opaque)}
    return port.add_hook(hook).name


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


def _hook(spec: dict[str, Any], port: Port, priority: int, order: int, by_epoch: bool, evaluate: str | None,
          key: str | None) -> list[_Ported]:
    kind = _short(spec.get("type", _default_type(key)))
    if kind in ABSORBED:
        return []
    if kind == "IterTimerHook":
        name = port.add_hook(Hook("timer", "throughput", {"progress": False})).name
        return [_Ported(name, "step.after", priority, order)]
    if kind == "LoggerHook":
        interval = spec.get("interval", 10)
        name = port.add_hook(Hook("logger", "log")).name
        every = interval if isinstance(interval, int) and interval >= 1 else 10
        return [_Ported(name, "step.after", priority, order, modifiers=_every(every, "step")),
                _Ported(name, "epoch.after", priority, order)]
    if kind == "CheckpointHook":
        return _checkpoint(spec, port, priority, order, by_epoch, evaluate)
    if kind == "EMAHook":
        return _ema(spec, port, priority, order, evaluate)
    if kind == "EarlyStoppingHook":
        return _early_stop(spec, port, priority, order, evaluate)
    if kind in {"DetVisualizationHook", "SegVisualizationHook"} and spec.get("draw") is not True \
            or kind == "VisualizationHook" and spec.get("enable") is not True:
        return []  # these draw nothing unless `draw` (MMDet, MMSeg) or `enable` (MMPretrain) is set
    return [_custom(str(spec.get("type", kind)), spec, port, priority, order, evaluate)]


def _default_type(key: str | None) -> str:
    return {"timer": "IterTimerHook", "logger": "LoggerHook", "param_scheduler": "ParamSchedulerHook",
            "checkpoint": "CheckpointHook", "sampler_seed": "DistSamplerSeedHook",
            "runtime_info": "RuntimeInfoHook"}.get(key or "", key or "?")


def _checkpoint(spec: dict[str, Any], port: Port, priority: int, order: int, by_epoch_loop: bool,
                evaluate: str | None) -> list[_Ported]:
    args: dict[str, Any] = {"dir": spec.get("out_dir") if isinstance(spec.get("out_dir"), str)
                            else "work_dirs/checkpoints"}
    keep = spec.get("max_keep_ckpts", -1)
    if isinstance(keep, int) and keep >= 1:
        args["keep_last"] = keep
    note = None
    best = spec.get("save_best")
    if best is not None and evaluate is not None:
        metric = best if isinstance(best, str) and best != "auto" else None
        rule = spec.get("rule")
        args["monitor"] = f"{evaluate}.{pipe_name(metric or 'metric')}"
        args["mode"] = "max" if rule == "greater" or rule is None else "min"
        args["keep_best"] = 1
        note = (f"save_best = {best!r}: the monitor names the metric {evaluate}'s callback returns; check its "
                "name and mode")
    hook = port.add_hook(Hook("save", "checkpoint", args, note=note))
    interval = spec.get("interval", -1)
    by_epoch = spec.get("by_epoch", True) and by_epoch_loop
    out = []
    if isinstance(interval, int) and interval >= 1:
        out.append(_Ported(hook.name, "epoch.after" if by_epoch else "step.after", priority, order,
                           modifiers=_every(interval, "epoch" if by_epoch else "step")))
    if spec.get("save_last", True):
        out.append(_Ported(hook.name, "loop.after", priority, order))
    return out


#: The ``gamma`` default of MMEngine's EMA types (``mmengine.model.averaged_model``).
_EMA_GAMMA = {"ExpMomentumEMA": 2000, "MomentumAnnealingEMA": 100}


def _ema(spec: dict[str, Any], port: Port, priority: int, order: int, evaluate: str | None) -> list[_Ported]:
    """``EMAHook``: MMEngine writes the new value's weight (``momentum``), the ``ema`` built-in the decay.

    A ``gamma`` the config gives is written; without one MMEngine's default is, where
    it is not the ``ema`` hook's (2000, ``ExpMomentumEMA``'s): ``MomentumAnnealingEMA``
    anneals with 100 in MMEngine, and would with 2000 here.
    """
    kind = _short(spec.get("ema_type", "ExponentialMovingAverage"))
    momentum = spec.get("momentum", 0.0002)
    args: dict[str, Any] = {}
    notes: list[str] = []
    if isinstance(momentum, (int, float)) and 0 < momentum < 1:
        args["decay"] = round(1 - momentum, 12)
    else:
        notes.append(f"EMAHook momentum {_show(momentum)}: set decay (1 - momentum) by hand")
    if kind == "ExponentialMovingAverage":
        args["warmup"] = False
    elif kind in ("ExpMomentumEMA", "MomentumAnnealingEMA"):
        args["momentum"] = "exp" if kind == "ExpMomentumEMA" else "linear"
        gamma = spec.get("gamma")
        if gamma is None and _EMA_GAMMA[kind] != EmaArgs.model_fields["gamma"].default:
            args["gamma"] = _EMA_GAMMA[kind]
        elif isinstance(gamma, int) and not isinstance(gamma, bool) and gamma >= 1:
            args["gamma"] = gamma
        elif gamma is not None:
            notes.append(f"EMAHook gamma {_show(gamma)} is not an integer >= 1: set gamma by hand")
    else:
        notes.append(f"EMA type {kind}: the `ema` built-in has no such ramp; choose warmup or momentum by hand")
    if spec.get("update_buffers"):
        args["buffers"] = True
    if spec.get("begin_iter") or spec.get("begin_epoch"):
        notes.append("EMAHook begins later (begin_iter/begin_epoch): add `from N` to its attachment")
    average = port.add_hook(Hook("ema", "ema", args, note="; ".join(notes) or None))
    if evaluate is not None:
        port.add_hook(Hook("swap", "ema_swap", {"source": average.name}))
    return []


def _early_stop(spec: dict[str, Any], port: Port, priority: int, order: int, evaluate: str | None) -> list[_Ported]:
    metric = spec.get("monitor")
    rule = spec.get("rule")
    args: dict[str, Any] = {"monitor": f"{evaluate or 'evaluate'}.{pipe_name(str(metric or 'metric'))}",
                            "mode": "max" if rule == "greater" else "min"}
    patience = spec.get("patience", 5)
    if isinstance(patience, int) and patience >= 1:
        args["patience"] = patience
    delta = spec.get("min_delta", 0.0)
    if isinstance(delta, (int, float)) and delta > 0:
        args["min_delta"] = float(delta)
    hook = port.add_hook(Hook("stop", "early_stop", args, note=f"monitor {metric!r}: name the metric the "
                                                               "validation callback returns; check mode"))
    return [_Ported(hook.name, "epoch.after", priority, order)]


def _custom(kind: str, spec: dict[str, Any], port: Port, priority: int, order: int,
            evaluate: str | None) -> _Ported:
    path, placement, effects = KNOWN_CUSTOM.get(_short(kind), (kind, "", []))
    args, opaque = _args(spec, {"priority"})
    note = f"MMEngine hook {kind}: port it to a hookpipe hook class"
    if placement == "val_batch":
        note += (" (its after_val_iter is the class's on_validation_batch_end(args): args.batch, args.model_outputs, "
                 "args.step_id the validation batch id)")
    if not placement:
        note += " and attach it where its before_*/after_* methods run"
        placement = "epoch.after"
    if opaque:
        note += f"; left out {', '.join(opaque)}"
    if placement in ("before_val", "val_batch") and evaluate is None:
        placement = "epoch.after"
    modifiers = ""
    interval = args.get("interval")
    if placement == "val_batch" and isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1:
        # MMEngine's every_n_inner_iters(batch_idx, interval): (batch_idx + 1) % interval == 0
        del args["interval"]
        modifiers = "" if interval == 1 else f"every {interval} batches"
    hook = port.add_hook(Hook(pipe_name(kind), path, args, builtin=False, effects=list(effects), note=note))
    return _Ported(hook.name, placement, priority, order, modifiers=modifiers)
