"""MMEngine's hooks as hookpipe hooks and where each runs: one ``dict(type=...)`` at a time.

:func:`registered_default_hooks` gives the hooks MMEngine's ``Runner`` registers from
``default_hooks`` (its six defaults, changed by the config's entries);
:func:`translate_hook` takes one of those or one entry of ``custom_hooks`` and
returns what it becomes (:class:`Ported`: the hook, its phase, its priority and
registration order); :func:`~hookpipe.porting.mmengine.port_mmengine` places them,
so the priorities survive as written order. Hooks whose work hookpipe already does
are ``ABSORBED`` (not written); known third-party hooks (``KNOWN_CUSTOM``) keep
their import path and get the effects that order them. A hook MMEngine would never
call here (a validation hook where nothing validates, a checkpoint that saves
nothing) is not declared: its note goes on the run's length (``RunFacts.dropped``).
The small spec helpers (``spec_args``, ``short_type``, ...) are shared with the rest
of the import.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from hookpipe.compiler.catalog import EmaArgs
from hookpipe.compiler.loop import every as _every
from hookpipe.porting.mmengine_accumulation import ema_note
from hookpipe.porting.mmengine_keys import NOTHING_TO_DO, SETTLED, WHY, Spec, is_int, is_number, ordinal
from hookpipe.porting.mmengine_keys import show as _show
from hookpipe.porting.model import Attachment, Hook, Port
from hookpipe.porting.pyconfig import Opaque
from hookpipe.porting.writer import pipe_name

#: MMEngine's priority names (mmengine.runner.priority.Priority).
PRIORITIES = {"HIGHEST": 0, "VERY_HIGH": 10, "HIGH": 30, "ABOVE_NORMAL": 40, "NORMAL": 50, "BELOW_NORMAL": 60,
              "LOW": 70, "VERY_LOW": 90, "LOWEST": 100}
#: MMEngine's default hooks, in registration order (``Runner.register_default_hooks``).
MMENGINE_DEFAULT_HOOKS: dict[str, dict[str, Any]] = {
    "runtime_info": {"type": "RuntimeInfoHook"}, "timer": {"type": "IterTimerHook"},
    "sampler_seed": {"type": "DistSamplerSeedHook"}, "logger": {"type": "LoggerHook"},
    "param_scheduler": {"type": "ParamSchedulerHook"}, "checkpoint": {"type": "CheckpointHook", "interval": 1},
}
#: The ``priority`` class attribute of MMEngine's own hooks (``mmengine.hooks``): a hook without a ``priority``
#: key runs at its class's. Another class's is unknown here: ``Hook``'s NORMAL, or the default hook's it replaces.
CLASS_PRIORITIES = {"RuntimeInfoHook": 10, "IterTimerHook": 50, "DistSamplerSeedHook": 50, "LoggerHook": 60,
                    "ParamSchedulerHook": 70, "CheckpointHook": 90, "EMAHook": 50, "EarlyStoppingHook": 100,
                    "EmptyCacheHook": 50, "SyncBuffersHook": 50, "ProfilerHook": 90}
#: The priority of a default hook's name, for a class of another project that replaces it.
_NAME_PRIORITIES = {name: CLASS_PRIORITIES[spec["type"]] for name, spec in MMENGINE_DEFAULT_HOOKS.items()}
#: Hooks whose work hookpipe's loop, accelerate or another built-in already does: not written.
ABSORBED = {
    "RuntimeInfoHook": "the runtime keeps the epoch, step and lr itself",
    "ParamSchedulerHook": "the `optimizer` built-in steps `trainer.lr_scheduler` after each update",
    "DistSamplerSeedHook": "accelerate sets the sampler's epoch",
    "OptimizerHook": "the `optimizer` built-in",
}
#: Known MMEngine hooks written as custom hooks: import path, the method that does their work, effect lines.
#: "before_val" (``before_val_epoch``) hooks run where the validation does (mmengine_validation.layout),
#: "val_batch" ones in the validation run; "train_end" is ``after_train_epoch`` in an ``EpochBasedTrainLoop``
#: and ``after_train_iter`` in an ``IterBasedTrainLoop``; "sync_buffers" is ``SyncBuffersHook``'s pair of
#: methods (``after_train_epoch``, and ``before_val_epoch`` where no epoch ends before a validation).
KNOWN_CUSTOM = {
    "YOLOXModeSwitchHook": ("mmdet.engine.hooks.YOLOXModeSwitchHook", "epoch.before", []),
    "PipelineSwitchHook": ("mmdet.engine.hooks.PipelineSwitchHook", "epoch.before", []),
    "SetEpochInfoHook": ("mmdet.engine.hooks.SetEpochInfoHook", "epoch.before", []),
    "SyncNormHook": ("mmdet.engine.hooks.SyncNormHook", "before_val", ["collective"]),
    "SyncBuffersHook": ("mmengine.hooks.SyncBuffersHook", "sync_buffers", ["collective"]),
    "PreciseBNHook": ("mmpretrain.engine.hooks.PreciseBNHook", "train_end", ["collective", "writes params"]),
    "CheckInvalidLossHook": ("mmdet.engine.hooks.CheckInvalidLossHook", "step.after", ["reads loss"]),
    "EmptyCacheHook": ("mmengine.hooks.EmptyCacheHook", "epoch.after", []),
    "DetVisualizationHook": ("mmdet.engine.hooks.DetVisualizationHook", "val_batch", []),
    "VisualizationHook": ("mmpretrain.engine.hooks.VisualizationHook", "val_batch", []),
    "SegVisualizationHook": ("mmseg.engine.hooks.SegVisualizationHook", "val_batch", []),
}


@dataclass
class Ported:
    hook: str
    #: "step.after" (``after_train_iter``), "epoch.before", "epoch.after" (``after_train_epoch``), "before_val"
    #: (``before_val_epoch``), "val_batch" (``after_val_iter``), "val_after" (``after_val_epoch``), "loop.after"
    placement: str
    priority: int
    order: int
    note: str | None = None
    modifiers: str = ""
    #: the MMEngine hook type it came from (``CheckpointHook``): where it goes around validation depends on it
    kind: str = ""


@dataclass
class RunFacts:
    """What the hooks' translations need to know of the run: its loop, folders and validation."""

    by_epoch: bool
    work_dir: str
    #: the mark of every line that uses ``work_dir`` (a work_dir the import could not read), or None
    work_dir_note: str | None
    evaluate: str | None
    #: the validation's unit ("epoch"/"step"), interval, first firing, and whether its interval changes
    val: tuple[str, int, int, bool] | None
    #: ``optim_wrapper.accumulative_counts`` (1 without accumulation)
    accumulation: int = 1
    #: marks of hooks not written because MMEngine never runs them here: they go on the run's length
    dropped: list[str] = field(default_factory=list)


def under(folder: str, name: str) -> str:
    return posixpath.join(folder, name) if folder != "." else name


def attachment(p: Ported) -> Attachment:
    return Attachment(p.hook, p.modifiers, p.note)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def type_of(spec: Any) -> str:
    return str(as_dict(spec).get("type", "a registry type"))


def short_type(type_name: Any) -> str:
    """``mmdet.QuadraticWarmupLR`` -> ``QuadraticWarmupLR`` (a registry scope prefix dropped)."""
    return str(type_name).rsplit(".", 1)[-1]


def spec_args(spec: dict[str, Any], drop: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The arguments of a ``dict(type=..., ...)`` spec; the names of those left out as unreadable."""
    args, opaque = {}, []
    for key, value in spec.items():
        if key in drop or key == "type":
            continue
        if contains_opaque(value):
            opaque.append(key)
        else:
            args[key] = value
    return args, opaque


def contains_opaque(value: Any) -> bool:
    if isinstance(value, Opaque):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains_opaque(v) for v in value)
    if isinstance(value, dict):
        return any(contains_opaque(v) for v in value.values())
    return False


def registered_default_hooks(config: Any) -> tuple[list[tuple[str, Any]], list[str]]:
    """The ``(name, spec)`` of each hook MMEngine's ``Runner`` registers from ``default_hooks``, in its order; and
    the notes of entries it would refuse or that cannot be read (for the run's length).

    ``register_default_hooks`` starts from MMEngine's six defaults (``MMENGINE_DEFAULT_HOOKS``):
    each entry of the config replaces the default of its name whole (a shallow
    replacement; a ``_base_`` file's ``default_hooks`` was merged key by key earlier,
    when the config was read), ``None`` removes it, a new name is added after them. So a
    config without ``default_hooks`` still checkpoints every epoch and logs every 10
    iterations, as MMEngine does.
    """
    hooks: dict[str, Any] = dict(MMENGINE_DEFAULT_HOOKS)
    notes: list[str] = []
    if config is not None and not isinstance(config, dict):
        notes.append(f"default_hooks {_show(config)} is not a literal dict of hooks: MMEngine's own default hooks "
                     "written; change them as the config does by hand")
        config = None
    for name, spec in (config or {}).items():
        if spec is None and name in hooks:
            del hooks[name]  # `checkpoint=None`: MMEngine leaves that default hook out
        elif spec is None:
            notes.append(f"default_hooks.{name} is None, which MMEngine accepts only for one of its default hooks "
                         f"({', '.join(MMENGINE_DEFAULT_HOOKS)}): it refuses this config (AssertionError); remove "
                         "the entry")
        else:
            hooks[name] = spec
    return list(hooks.items()), notes


def translate_hook(raw: dict[str, Any], port: Port, order: int, run: RunFacts, key: str | None) -> list[Ported]:
    """One hook of ``default_hooks`` (``key``) or ``custom_hooks``; every argument is translated or marked.

    Its priority is the ``priority`` key, else its class's (``CLASS_PRIORITIES``): MMEngine
    builds the hook and keeps the class attribute unless the config sets one.
    """
    type_name = raw.get("type", _default_type(key))
    kind = short_type(type_name) if isinstance(type_name, str) else ""
    spec = Spec(raw, kind or "hook", SETTLED.get(kind), WHY.get(kind), ("type", *NOTHING_TO_DO.get(kind, ())))
    priority = _priority(spec, CLASS_PRIORITIES.get(kind, _NAME_PRIORITIES.get(key or "", 50)))
    if key is not None and "type" not in raw:
        spec.note(f"default_hooks.{key} has no type: MMEngine refuses it (the entry replaces its default hook whole, "
                  f"and a hook is built from its type); ported as {type_name}: add type='{type_name}'")
    if not isinstance(type_name, str):
        spec.note(f"hook type {spec.show(type_name)} is not a literal string")
        return _custom("unnamed.Hook", spec, port, priority, order, run)
    if kind in ABSORBED:  # nothing written: what it cannot take goes on the run's length
        if spec.notes:
            run.dropped.append("; ".join(spec.notes))
        return []
    if kind == "IterTimerHook":
        hook = port.add_hook(Hook("timer", "throughput", {"progress": False}))
        hook.note = spec.mark()
        return [Ported(hook.name, "step.after", priority, order, kind=kind)]
    if kind == "LoggerHook":
        return _logger(spec, port, priority, order, run)
    if kind == "CheckpointHook":  # MMEngine's own default (the config names none) is exact: not marked
        return _checkpoint(spec, port, priority, order, run, raw is MMENGINE_DEFAULT_HOOKS["checkpoint"])
    if kind == "EMAHook":
        return _ema(spec, port, priority, order, run)
    if kind == "EarlyStoppingHook":
        return _early_stop(spec, port, priority, order, run)
    switch = "draw" if kind in {"DetVisualizationHook", "SegVisualizationHook"} else \
        "enable" if kind == "VisualizationHook" else None
    if switch is not None and spec.get(switch) in (None, False):
        return []  # these draw nothing unless `draw` (MMDet, MMSeg) or `enable` (MMPretrain) is set; another value
        # (an expression) is written, and named as left out in its mark
    return _custom(type_name, spec, port, priority, order, run)


def _logger(spec: Spec, port: Port, priority: int, order: int, run: RunFacts) -> list[Ported]:
    """``LoggerHook``: ``log()`` where MMEngine's ``after_train_iter`` logs, and in the validation's own ``after``.

    In an ``EpochBasedTrainLoop`` MMEngine logs when ``(batch_idx + 1) % interval == 0``,
    ``batch_idx`` the batch's index in its epoch (``every_n_inner_iters``): ``every N
    batches``, counted from 1 again each epoch; with ``ignore_last=False`` also at the
    epoch's last batch (``end_of_epoch``), the shorter window's record: ``and at end``.
    ``after_val_epoch`` logs the validation's results: ``validation evaluate { after {
    logger } }``, one record at the validation's own step whenever it runs (as the
    Lightning import writes it), and nothing where nothing validates.
    """
    interval = spec.integer("interval", 10)
    out: list[Ported] = []
    if run.evaluate is not None:
        out.append(Ported("", "val_after", priority, order, kind="LoggerHook"))
    if not run.by_epoch:
        # An iteration loop has no epochs to log at: a log at the end of each pass over the
        # data would add records MMEngine never writes. The last one flushes the run's end.
        every = _every(interval, "step") + " and at end" if interval >= 1 else None
        out.insert(0, Ported("", "step.after" if every else "loop.after", priority, order, modifiers=every or "",
                             kind="LoggerHook"))
    else:
        last = not spec.boolean("ignore_last", True)
        if interval >= 1:
            every = _every(interval, "batch") + (" and at end" if last and interval > 1 else "")
            out.insert(0, Ported("", "step.after", priority, order, modifiers=every, kind="LoggerHook"))
        elif last:  # MMEngine logs no step by an interval below 1, only each epoch's last batch
            spec.note(f"LoggerHook interval {interval} with ignore_last=False: MMEngine logs each epoch's last batch "
                      f"only; here log() logs at the epoch's end{', after the validation' if run.evaluate else ''}")
            out.insert(0, Ported("", "epoch.after", priority, order, kind="LoggerHook"))
    if not out:
        run.dropped.append(spec.mark(f"LoggerHook interval {interval}: MMEngine logs no training iteration (and "
                                     "nothing validates), so no log() is written; add one if the run should log")
                           or "")
        return []
    hook = port.add_hook(Hook("logger", "log"))
    hook.note = spec.mark()
    for p in out:
        p.hook = hook.name
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


def _checkpoint(spec: Spec, port: Port, priority: int, order: int, run: RunFacts,
                implicit: bool = False) -> list[Ported]:
    """``CheckpointHook``: into ``<work_dir>/checkpoints`` (MMEngine saves into ``work_dir`` itself, beside its logs),
    or ``<out_dir>/<basename of work_dir>`` with ``out_dir``, as MMEngine does; periodic saves, ``save_last``,
    ``save_begin`` (``from``) and one ``save_best`` metric.

    ``implicit``: MMEngine's own default hook, which the config does not name; in an
    ``IterBasedTrainLoop`` it saves once, at the end, as written, and that is not marked
    (the config asked for nothing that the file does not do).
    """
    interval = spec.integer("interval", -1, instead="no periodic save written")
    by_epoch = spec.boolean("by_epoch", True)
    save_last = spec.boolean("save_last", True)
    begin = spec.integer("save_begin", 0)
    keep = spec.integer("max_keep_ckpts", -1, instead="every checkpoint kept")
    out_dir = spec.string("out_dir", None, instead="saved under the work_dir")
    notes: list[str | None] = [run.work_dir_note]
    if isinstance(out_dir, str) and out_dir.strip():
        folder = under(out_dir.rstrip("/") or "/", posixpath.basename(run.work_dir.rstrip("/")) or "work_dir")
    else:
        folder = under(run.work_dir, "checkpoints")
    args: dict[str, Any] = {"dir": folder}
    if keep >= 1:
        args["keep_last"] = keep
    unit_epoch = by_epoch and run.by_epoch
    firing: tuple[str, int, int] | None = None  # the periodic saves: unit, interval, first
    out: list[Ported] = []
    if by_epoch and not run.by_epoch:
        # MMEngine's CheckpointHook saves a by_epoch checkpoint in after_train_epoch, which an IterBasedTrainLoop
        # calls once, after its last iteration (runner.epoch 0, max_epochs 1): every_n_epochs(interval, save_begin)
        # or save_last and is_last_train_epoch
        at_end = save_last or (interval >= 1 and 0 <= 1 - begin and (1 - begin) % interval == 0)
        if not implicit:
            notes.append("CheckpointHook by_epoch is left on (MMEngine's default) in an IterBasedTrainLoop: MMEngine "
                         + ("saves once, at the run's end" if at_end else "never saves")
                         + ", as here; set by_epoch=False in the config to save every N iterations")
        if at_end:
            out.append(Ported("", "loop.after", priority, order, kind="CheckpointHook"))
    else:
        if interval >= 1:
            unit = "epoch" if unit_epoch else "step"
            start = begin if begin >= 1 else interval  # MMEngine: (count - save_begin) % interval == 0, count >= 1
            modifiers = _every(interval, unit) + (f" from {start}" if start != interval else "")
            out.append(Ported("", "epoch.after" if unit_epoch else "step.after", priority, order,
                               modifiers=modifiers, kind="CheckpointHook"))
            firing = (unit, interval, start)
        if save_last:
            out.append(Ported("", "loop.after", priority, order, kind="CheckpointHook"))
    if not out:  # a hook never attached is HP103: say what MMEngine does on the run's length instead
        run.dropped.append(_saves_nothing(spec, interval, run, notes, by_epoch and not run.by_epoch))
        return []
    notes += _best(spec, args, run, firing)
    hook = port.add_hook(Hook("save", "checkpoint", args))
    hook.note = spec.mark(*(n for n in notes if n))
    for p in out:
        p.hook = hook.name
    return out


def _saves_nothing(spec: Spec, interval: int, run: RunFacts, notes: list[str | None], explained: bool) -> str:
    """The mark of a ``CheckpointHook`` without periodic or last saves (``interval=-1, save_last=False``).

    MMEngine then saves nothing, or only its ``save_best`` checkpoint at each
    validation, which ``checkpoint`` cannot do alone (it ranks the checkpoints it saves).
    ``explained``: ``notes`` already say why (a ``by_epoch`` hook in an iteration loop).
    """
    best = spec.take("save_best")
    spec.take_all(("rule", "greater_keys", "less_keys"))
    if best is not None and run.evaluate is not None:
        what = (f"MMEngine saves only its best checkpoint (save_best {spec.show(best)}), at each validation; no "
                "checkpoint hook is written: add one attached as often as evaluate, with its monitor, mode and "
                "keep_best, to keep a best checkpoint")
    else:
        what = ("MMEngine saves no checkpoint in this run, and no checkpoint hook is written; add one if the run "
                "should save")
    if explained and best is None:
        what = "no checkpoint hook is written"
    elif not explained:
        what = f"CheckpointHook interval {interval}, save_last False: {what}"
    return spec.mark(*(n for n in notes if n), what) or what


def _best(spec: Spec, args: dict[str, Any], run: RunFacts, firing: tuple[str, int, int] | None) -> list[str]:
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


def _ema(spec: Spec, port: Port, priority: int, order: int, run: RunFacts) -> list[Ported]:
    """``EMAHook``: MMEngine writes the new value's weight (``momentum``), the ``ema`` built-in the decay.

    A ``gamma`` the config gives is written; without one MMEngine's default is, where
    it is not the ``ema`` hook's (2000, ``ExpMomentumEMA``'s): ``MomentumAnnealingEMA``
    anneals with 100 in MMEngine, and would with 2000 here. Its ``after_train_iter``
    update is placed by priority in ``step.after`` (mmengine.py), after ``optimize``.
    """
    kind = short_type(spec.string("ema_type", "ExponentialMovingAverage", instead="ported as ExponentialMovingAverage"))
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
    if run.accumulation > 1 and interval >= 1:  # one statement for both rates (mmengine_accumulation.ema_note)
        notes.append(ema_note(args, run.accumulation, interval))
    elif interval != 1:
        decay = args.get("decay")
        about = f" = {decay ** (1 / interval):.8g}" if isinstance(decay, float) and interval >= 1 else ""
        every = f"every {ordinal(interval)} iteration" if interval >= 1 else f"with interval {interval}"
        notes.append(f"EMAHook interval {interval}: MMEngine averages {every}, ema after every update: set decay to "
                     f"about decay^(1/{interval}){about} by hand")
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
    if run.evaluate is not None:
        port.add_hook(Hook("swap", "ema_swap", {"source": average.name}))
    return [Ported(average.name, "step.after", priority, order, kind="EMAHook")]


def _early_stop(spec: Spec, port: Port, priority: int, order: int, run: RunFacts) -> list[Ported]:
    """``EarlyStoppingHook``: ``early_stop`` in the validation's own ``after`` (MMEngine's ``after_val_epoch``).

    Marked where ``early_stop`` judges differently (``mmengine.hooks.EarlyStoppingHook``):
    a result without the metric (MMEngine's default ``strict=False`` skips it with a
    warning; ``early_stop`` fails the run, as ``strict=True`` does), a non-finite one
    (``check_finite=True``, the default, stops at once; ``early_stop`` counts a NaN as
    a result that did not improve; with ``check_finite=False`` MMEngine takes a NaN as
    the new best and never stops after it), a tie (MMEngine improves on ``>=``, and
    ``early_stop`` on ``>``: it matters with ``min_delta=0``). Where nothing validates
    MMEngine never calls it: not written.
    """
    metric = spec.string("monitor", None, instead="left as 'metric'")
    rule = spec.take("rule")
    strict = spec.boolean("strict", False)
    finite = spec.boolean("check_finite", True)
    if run.evaluate is None:
        spec.take_all(spec.keys())
        run.dropped.append(f"EarlyStoppingHook (monitor {metric!r}): MMEngine judges it after each validation, and "
                           "nothing validates here, so it never stops the run: not written")
        return []
    notes = []
    mode = _rule_mode(metric or "metric", rule, None, None)  # MMEngine infers it from the name as CheckpointHook
    if mode is None:
        notes.append(f"EarlyStoppingHook rule {spec.show(rule)}: MMEngine cannot rank {metric!r} by it (it refuses "
                     "the config): mode min written")
    args: dict[str, Any] = {"monitor": f"{run.evaluate}.{pipe_name(metric or 'metric')}", "mode": mode or "min"}
    patience = spec.integer("patience", 5)
    args["patience"] = patience if patience >= 1 else 1
    delta = spec.number("min_delta", 0.1)
    if delta > 0:
        args["min_delta"] = float(delta)
    elif delta == 0:
        notes.append("min_delta 0: MMEngine counts a result equal to the best as an improvement (its patience starts "
                     "over), early_stop does not: set a small min_delta if results repeat")
    else:
        notes.append(f"min_delta {delta}: MMEngine counts a result up to {-delta} worse than the best as an "
                     "improvement; early_stop takes no negative min_delta (0 written): set the tolerance by hand")
    if not strict:
        notes.append(f"strict False (the default): MMEngine skips a result without {metric!r} with a warning, "
                     "early_stop fails the run: return the metric from every validation")
    if finite:
        notes.append("check_finite True (the default): MMEngine stops at once on a NaN or infinite result, early_stop "
                     "counts a NaN as no improvement: raise in the validation callback to stop on one")
    else:
        notes.append("check_finite False: MMEngine takes a NaN result as the new best (and never stops after it), "
                     "early_stop counts it as no improvement")
    hook = port.add_hook(Hook("stop", "early_stop", args))
    hook.note = spec.mark(f"monitor {metric!r}: name the metric the validation callback returns; check mode", *notes)
    return [Ported(hook.name, "val_after", priority, order, kind="EarlyStoppingHook")]


def _custom(kind: str, spec: Spec, port: Port, priority: int, order: int, run: RunFacts) -> list[Ported]:
    """A hook written as its class (marked: port it): in the phase ``KNOWN_CUSTOM`` names, else ``epoch.after``.

    A hook MMEngine runs only around validation (``before_val_epoch``, ``after_val_iter``)
    is not written where nothing validates: MMEngine would never call it.
    """
    short = short_type(kind)
    path, placement, effects = KNOWN_CUSTOM.get(short, (kind, "", []))
    args, opaque = spec_args(spec, {"priority", "type"})
    spec.take_all(spec.keys())
    if placement in ("before_val", "val_batch") and run.evaluate is None:
        method = "before_val_epoch" if placement == "before_val" else "after_val_iter"
        run.dropped.append(f"{short}: MMEngine runs it in {method} only, and nothing validates here, so it never "
                           "runs: not written")
        return []
    note = f"MMEngine hook {kind}: port it to a hookpipe hook class"
    if placement == "val_batch":
        note += (" (its after_val_iter is the class's on_validation_batch_end(args): args.batch, args.model_outputs, "
                 "args.step_id the validation batch id)")
    if not placement:
        note += " and attach it where its before_*/after_* methods run"
        placement = "epoch.after"
    if opaque:
        note += f"; left out {', '.join(f'{k} {spec.show(spec[k])}' for k in opaque)}"
    modifiers = ""
    interval = args.get("interval")
    if placement == "val_batch" and is_int(interval) and interval >= 1:
        # MMEngine's every_n_inner_iters(batch_idx, interval): (batch_idx + 1) % interval == 0
        del args["interval"]
        modifiers = "" if interval == 1 else f"every {interval} batches"
    hook = port.add_hook(Hook(pipe_name(kind), path, args, builtin=False, effects=list(effects),
                              note=spec.mark(note)))
    if placement == "train_end":  # PreciseBNHook: after_train_epoch, or after_train_iter in an iteration loop
        placement = "epoch.after" if run.by_epoch else "step.after"
    if placement == "sync_buffers":
        # SyncBuffersHook all-reduces the buffers in after_train_epoch, and in before_val_epoch when no
        # after_train_epoch came first: every epoch's end; in an iteration loop (one epoch, ending with
        # the run) before each validation and at the run's end
        if run.by_epoch:
            return [Ported(hook.name, "epoch.after", priority, order, kind=short)]
        out = [Ported(hook.name, "loop.after", priority, order, kind=short)]
        if run.evaluate is not None:
            out.insert(0, Ported(hook.name, "before_val", priority, order, kind=short))
        return out
    return [Ported(hook.name, placement, priority, order, modifiers=modifiers, kind=short)]
