"""A LightningCLI YAML config (``fit`` settings) as a ``Port``.

Lightning runs a callback hook in callback list order, with ``ModelCheckpoint``
moved to the end; the import writes each phase in that order. Validation ends an
epoch (``check_val_every_n_epoch``) or runs every ``val_check_interval`` training
batches; ``EarlyStopping`` and ``ModelCheckpoint`` read its metrics, so they come
after it. What maps to what: docs/import.md.
"""

from __future__ import annotations

from typing import Any

from hookpipe.porting.model import Attachment, Call, Hook, Item, Port, RunValue
from hookpipe.porting.writer import pipe_name, split_writable

_PRECISION = {"16-mixed": "fp16", "16": "fp16", 16: "fp16", "bf16-mixed": "bf16", "bf16": "bf16",
              "32": "no", 32: "no", "32-true": "no", None: "no"}
_LOGGERS = {"TensorBoardLogger": "tensorboard", "CSVLogger": "csv", "WandbLogger": "wandb",
            "MLFlowLogger": "mlflow", "CometLogger": "comet_ml"}
#: Callbacks whose job hookpipe does itself or that only change Lightning's console output.
_ABSORBED = {"ModelSummary", "RichModelSummary", "TQDMProgressBar", "RichProgressBar"}
_STEP, _EPOCH = ("loop", "epoch", "step"), ("loop", "epoch")


class LightningInputError(ValueError):
    """The YAML is not a LightningCLI config; the message says what was expected."""


def port_lightning(cfg: Any, name: str, source: str, module: str | None = None) -> Port:
    """The ``Port`` of a LightningCLI config (``fit:`` may wrap it, as ``--print_config`` writes it)."""
    if not isinstance(cfg, dict):
        raise LightningInputError("expected a mapping with a `trainer` section")
    if isinstance(cfg.get("fit"), dict):
        cfg = cfg["fit"]
    trainer = cfg.get("trainer") or {}
    if not isinstance(trainer, dict):
        raise LightningInputError("`trainer` must be a mapping")
    port = Port(name=name, source=source, kind="lightning", module=module)
    _length(trainer, port, cfg.get("ckpt_path"))
    accumulate = trainer.get("accumulate_grad_batches")
    if isinstance(accumulate, int) and accumulate > 1:
        port.setting("grad_accumulation", accumulate)
    precision = trainer.get("precision")
    mode = _precision(precision)
    if mode is None:
        port.setting("mixed_precision", "no", f"precision {precision!r} has no hookpipe setting")
    elif mode != "no":
        port.setting("mixed_precision", mode)
    _placement(trainer, port)
    seed = cfg.get("seed_everything")
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        port.setting("seed", seed)
    model = _class_call(cfg.get("model"))
    port.setting("model", model or Call(port.need("build_model", "the model")))
    _dataloader(cfg.get("data"), port, trainer.get("limit_train_batches"))
    port.setting("optimizer", _class_call(cfg.get("optimizer"), "torch.optim.")
                 or Call(port.need("optimizer", "the optimizer (configure_optimizers)")))
    scheduler_config = _scheduler_config(cfg.get("lr_scheduler"))
    scheduler = _class_call(scheduler_config.get("scheduler"), "torch.optim.lr_scheduler.")
    plateau = isinstance(scheduler, Call) and str(scheduler.callee).endswith("ReduceLROnPlateau")
    if scheduler is not None and not plateau:
        _scheduler(scheduler, scheduler_config, trainer, port)
    port.setting("batch_processor", Call(port.need("Processor", "a batch processor running the LightningModule's "
                                                                "training_step")))
    _loggers(trainer, port)

    step_after: list[Item] = []
    clip_val = trainer.get("gradient_clip_val")
    if isinstance(clip_val, (int, float)) and not isinstance(clip_val, bool) and clip_val > 0:
        if trainer.get("gradient_clip_algorithm") == "value":
            clip = Hook("clip", "grad_clip", {"mode": "value", "clip_value": float(clip_val)})
        else:
            clip = Hook("clip", "grad_clip", {"mode": "norm", "max_norm": float(clip_val)})
        step_after.append(Attachment(port.add_hook(clip).name))
    step_after.append(Attachment(port.add_hook(Hook("optimize", "optimizer")).name))
    port.phases[(_STEP, "after")] = step_after
    evaluate = _validation(trainer, port)
    log_every = trainer.get("log_every_n_steps", 50)
    log_every = log_every if isinstance(log_every, int) and log_every >= 1 else 50
    if plateau:
        assert isinstance(scheduler, Call)
        _plateau(scheduler, scheduler_config, port, evaluate)
    callbacks = trainer.get("callbacks") or []
    if isinstance(callbacks, dict):
        callbacks = [callbacks]
    checkpoints = []
    for spec in callbacks:
        cls = _class_name(spec)
        short = cls.rsplit(".", 1)[-1]
        args = _init_args(spec)
        if short in _ABSORBED:
            continue
        if short == "ModelCheckpoint":
            checkpoints.append(args)
        elif short == "EarlyStopping":
            _early_stop(args, port, evaluate)
        elif short == "LearningRateMonitor":
            hook = port.add_hook(Hook("lr_monitor", "log"))
            port.attach(_STEP, "after", Attachment(hook.name, _every(log_every, "update")))
        elif short == "StochasticWeightAveraging":
            _swa(args, port, trainer, scheduler is not None and not plateau)
        else:
            _custom(cls, args, port)
    if not checkpoints and trainer.get("enable_checkpointing", True) is not False:
        checkpoints.append({})  # Lightning's default ModelCheckpoint: the last epoch, every epoch
    given = trainer.get("default_root_dir")
    root = given if isinstance(given, str) else "lightning_logs"
    for args in checkpoints:
        _checkpoint(args, port, evaluate, root)
    return port


def _precision(value: Any) -> str | None:
    """hookpipe's ``mixed_precision`` for Lightning's ``precision``; None when there is none."""
    try:
        return _PRECISION.get(value)
    except TypeError:  # a list or mapping: no precision Lightning knows either
        return None


#: Lightning trainer settings that change how long or on what a run trains, which hookpipe has no setting for:
#: what each does, and what to do instead (marked on the run's length).
_UNPORTED_LENGTH = {
    "max_time": "stops after a wall-clock time; hookpipe has no time limit: send SIGTERM for a clean stop "
                "with a checkpoint",
    "min_epochs": "keeps an early stop from ending the run sooner; hookpipe's early_stop has no minimum",
    "min_steps": "keeps an early stop from ending the run sooner; hookpipe's early_stop has no minimum",
    "overfit_batches": "trains on a few batches over and over; make train_loader yield only those",
    "fast_dev_run": "runs a batch or so of everything as a smoke test; run with --set trainer.max_step=1 instead",
}


def _length(trainer: dict[str, Any], port: Port, ckpt_path: Any = None) -> None:
    """Lightning's ``max_steps`` counts optimizer steps; hookpipe's ``max_step`` counts batches.

    ``fit``'s ``ckpt_path`` (which checkpoint the run starts from) is the run's, not
    the file's: it is marked here, with the ``--resume`` that does it.
    """
    epochs, steps = trainer.get("max_epochs"), trainer.get("max_steps")
    accumulate = trainer.get("accumulate_grad_batches")
    factor = accumulate if isinstance(accumulate, int) and accumulate > 1 else 1
    unported = "; ".join([f"Lightning's {key} {what}" for key, what in _UNPORTED_LENGTH.items()
                          if trainer.get(key) not in (None, False, 0, 0.0)]
                         + ([f"Lightning's ckpt_path {str(ckpt_path)[:40]!r} resumes: hookpipe run FILE --resume "
                             f"{'auto' if ckpt_path in ('last', 'hpc') else 'DIR'}"] if ckpt_path else []))
    if isinstance(steps, int) and steps >= 1:
        port.setting("max_step", steps * factor, unported or None)
        unported = ""
    if isinstance(epochs, int) and epochs >= 1:
        port.setting("max_epoch", epochs, unported or None)
    elif not (isinstance(steps, int) and steps >= 1):
        port.setting("max_epoch", 1000, "; ".join(filter(None, [
            "Lightning's default when max_epochs and max_steps are unset (or -1): set the run's length", unported])))
    sanity = trainer.get("num_sanity_val_steps")
    if type(sanity) is int and sanity >= 0:
        port.setting("sanity_val_batches", sanity)
    elif sanity is not None:
        port.setting("sanity_val_batches", 2, f"num_sanity_val_steps = {sanity} (all of them, or not a count): "
                                              "give the number of validation batches to check before training")


#: Lightning's strategies whose model wrapping hookpipe leaves to an accelerate config (by prefix).
_SHARDED = ("deepspeed", "fsdp")


def _placement(trainer: dict[str, Any], port: Port) -> None:
    """Where Lightning trained (``accelerator``, ``devices``, ``num_nodes``, ``strategy``) and its torch flags.

    ``accelerator: cpu`` is hookpipe's ``cpu = true``. The process count is not a
    setting of the file but of the run (``hookpipe run --processes N``, or
    ``accelerate launch``), and ``deterministic``/``benchmark`` set torch flags that
    hookpipe leaves to the user's code: each is marked, tersely (a mark is one line
    of at most 240 characters; docs/import.md says more), on the ``cpu`` line, which
    is written for it (``false`` is the default), so that none is lost without a word.
    """
    notes = []
    devices, nodes, strategy = trainer.get("devices"), trainer.get("num_nodes"), trainer.get("strategy")
    count = len(devices) if isinstance(devices, list) else devices if type(devices) is int else None
    if count is not None and count > 1:
        notes.append(f"devices {count}: hookpipe run --processes {count}")
    elif devices not in (None, 1, "1", "auto") and count != 1:
        notes.append(f"devices {str(devices)[:20]!r}: hookpipe run --processes N")
    if type(nodes) is int and nodes > 1:
        notes.append(f"num_nodes {nodes}: accelerate launch on each machine")
    name = _class_name(strategy) or (strategy if isinstance(strategy, str) else "")
    if name.lower().rsplit(".", 1)[-1].startswith("ddp") and not notes:
        notes.append(f"strategy {name[:30]!r}: hookpipe run --processes N")
    if name.lower().rsplit(".", 1)[-1].startswith(_SHARDED):
        notes.append(f"strategy {name[:30]!r}: needs an accelerate config")
    flags = [key for key in ("deterministic", "benchmark") if trainer.get(key) is True]
    if flags:
        notes.append(f"{', '.join(flags)}: set torch's flag{'s' if len(flags) > 1 else ''} in the model factory")
    accelerator = trainer.get("accelerator")
    cpu = isinstance(accelerator, str) and accelerator.lower() == "cpu"
    if isinstance(accelerator, str) and accelerator.lower() in ("tpu", "hpu", "ipu"):
        notes.append(f"accelerator {accelerator!r}: needs an accelerate config")
    if cpu or notes:
        port.setting("cpu", cpu, ("Lightning's " + "; ".join(notes)) if notes else None)


def _class_name(spec: Any) -> str:
    if isinstance(spec, dict) and isinstance(spec.get("class_path"), str):
        return str(spec["class_path"])
    return ""


def _init_args(spec: Any) -> dict[str, Any]:
    args = spec.get("init_args") if isinstance(spec, dict) else None
    return dict(args) if isinstance(args, dict) else {}


def _class_call(spec: Any, prefix: str = "") -> Call | None:
    """``class_path`` + ``init_args`` as a factory call; a bare class name is completed with ``prefix``."""
    cls = _class_name(spec)
    if not cls and isinstance(spec, str):
        cls = spec
    if not cls:
        return None
    if "." not in cls and prefix:
        cls = prefix + cls
    return Call(cls, _init_args(spec))


def _dataloader(spec: Any, port: Port, limit: Any = None) -> None:
    """``train_loader`` gets the DataModule's ``init_args`` (``batch_size``...): they configure its loaders.

    ``limit_train_batches`` (a count, or a fraction of the loader) changes how much an
    epoch trains; hookpipe has no such setting, so the loader line says what to do.
    """
    data = _class_name(spec)
    args, left = split_writable(_init_args(spec))
    what = f"the training DataLoader ({data or 'the model'}.train_dataloader()"
    what += f", taking the DataModule's init_args: {', '.join(args)})" if args else ")"
    notes = []
    if left:
        notes.append(f"left out data.init_args {', '.join(left)} (no .pipe literal): give train_loader their values")
    if limit is not None and limit != 1.0:
        share = f"{limit} batches" if type(limit) is int else f"the fraction {limit} of the batches"
        notes.append(f"Lightning's limit_train_batches trains {share} an epoch; hookpipe trains every batch the "
                     "loader yields: make train_loader yield that many")
    port.setting("dataloader", Call(port.need("train_loader", what), args), "; ".join(notes) or None)


def _scheduler_config(spec: Any) -> dict[str, Any]:
    """Lightning's lr_scheduler config: ``scheduler`` (a ``class_path`` spec), ``interval``, ``frequency``...

    LightningCLI's ``lr_scheduler`` section is the scheduler itself (``class_path``, ``init_args``), which
    Lightning steps with the defaults (``interval: epoch``, ``frequency: 1``); the keys of Lightning's
    config dict may sit beside ``class_path``, or wrap it as ``scheduler``.
    """
    if not isinstance(spec, dict):
        return {"scheduler": spec}
    if "class_path" not in spec and "scheduler" in spec:
        return dict(spec)
    return {**spec, "scheduler": spec}


def _scheduler(scheduler: Call, config: dict[str, Any], trainer: dict[str, Any], port: Port) -> None:
    """Lightning steps the scheduler every ``frequency`` epochs (the default) or optimizer steps; hookpipe
    steps ``trainer.lr_scheduler`` once per optimizer update. Only a schedule that is the same stepped per
    update is written as one; any other is marked, through a ``project.lr_scheduler`` factory."""
    interval = config.get("interval", "epoch")
    frequency = config.get("frequency", 1)
    every = frequency if isinstance(frequency, int) and not isinstance(frequency, bool) and frequency >= 1 else 1
    short = str(scheduler.callee).rsplit(".", 1)[-1]
    if interval == "step":
        note = None
        if every > 1:
            note = (f"Lightning steps {short} every {every} optimizer steps (frequency {every}); hookpipe steps it "
                    "every update: count its arguments in updates")
        port.setting("lr_scheduler", scheduler, note)
        return
    exact = _per_update(scheduler, trainer) if every == 1 else None
    if exact is not None:
        port.setting("lr_scheduler", exact)
        return
    accumulate = trainer.get("accumulate_grad_batches")
    accumulate = accumulate if isinstance(accumulate, int) and accumulate > 1 else 1
    epoch = "steps_per_epoch" if accumulate == 1 else f"ceil(steps_per_epoch / {accumulate})"
    unit = "epoch" if every == 1 else f"{every} epochs"
    told = "" if interval == "epoch" else f" (interval {interval!r} is neither step nor epoch)"
    args: dict[str, Any] = {"class_path": str(scheduler.callee), "init_args": dict(scheduler.args),
                            "steps_per_epoch": RunValue("steps_per_epoch")}
    port.setting("lr_scheduler",
                 Call(port.need("lr_scheduler", "the learning-rate schedule, stepped once per update"), args),
                 f"Lightning steps {short} once per {unit}{told}, hookpipe once per update: write "
                 f"project.lr_scheduler to step it once every {epoch}{'' if every == 1 else f' x {every}'} updates, "
                 "or count its arguments in updates")


#: Schedulers that Lightning steps per epoch and that are exact per update: StepLR with step_size = the
#: updates of an epoch changes the lr at the same updates. Exact only when every batch is an update that
#: steps the scheduler: no accumulation, no fp16 (its scaler skips steps), full epochs.
_EXPONENTIAL, _STEP_LR = "torch.optim.lr_scheduler.ExponentialLR", "torch.optim.lr_scheduler.StepLR"


def _per_update(scheduler: Call, trainer: dict[str, Any]) -> Call | None:
    """The per-update form of a per-epoch ``scheduler``, when one is exact."""
    args = scheduler.args
    exponential = scheduler.callee == _EXPONENTIAL and set(args) == {"gamma"}
    every_epoch = scheduler.callee == _STEP_LR and type(args.get("step_size")) is int and args["step_size"] == 1 \
        and set(args) <= {"step_size", "gamma"}
    if not (exponential or every_epoch):
        return None
    accumulate = trainer.get("accumulate_grad_batches")
    if accumulate not in (None, 1) or _precision(trainer.get("precision")) == "fp16":
        return None
    if trainer.get("limit_train_batches") not in (None, 1.0):
        return None
    out: dict[str, Any] = {"step_size": RunValue("steps_per_epoch")}
    if "gamma" in args:
        out["gamma"] = args["gamma"]
    return Call(_STEP_LR, out)


def _loggers(trainer: dict[str, Any], port: Port) -> None:
    loggers = trainer.get("logger")
    if loggers is None or isinstance(loggers, bool):
        return
    items = loggers if isinstance(loggers, list) else [loggers]
    names, folder = [], None
    for spec in items:
        short = _class_name(spec).rsplit(".", 1)[-1]
        if short in _LOGGERS:
            names.append(_LOGGERS[short])
            save = _init_args(spec).get("save_dir")
            folder = folder or (save if isinstance(save, str) else None)
    if names:
        port.setting("log_with", names)
    if folder:
        port.setting("log_dir", folder)


def _every(n: int, unit: str) -> str:
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


def _validation(trainer: dict[str, Any], port: Port) -> str | None:
    if trainer.get("limit_val_batches") == 0:
        return None
    hook = port.add_hook(Hook("evaluate", "validation", {
        "callback": port.need("val_step", "val_step(model, batch): per-sample metrics (validation_step)"),
        "dataloader": Call(port.need("val_loader", "the validation DataLoader (val_dataloader())"))}))
    interval = trainer.get("val_check_interval")
    every_epochs = trainer.get("check_val_every_n_epoch", 1)
    if isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1 and every_epochs is None:
        port.attach(_STEP, "after", Attachment(hook.name, _every(interval, "step")))
    elif isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1:
        port.attach(_STEP, "after", Attachment(hook.name, _every(interval, "step"),
                                               "val_check_interval counts batches within each epoch in Lightning; "
                                               "here it counts the run's steps"))
    elif isinstance(interval, float) and 0 < interval < 1:
        port.attach(_EPOCH, "after", Attachment(hook.name, "", f"val_check_interval = {interval} validates "
                                                f"{round(1 / interval)} times an epoch: attach it `every N steps`"))
    else:
        n = every_epochs if isinstance(every_epochs, int) and every_epochs >= 1 else 1
        port.attach(_EPOCH, "after", Attachment(hook.name, _every(n, "epoch")))
    return hook.name


def _where_metrics(port: Port, evaluate: str | None) -> tuple[tuple[str, ...], str]:
    """The phase the validation is attached in (early stopping and checkpoints go after it there)."""
    found = _attachment_of(port, evaluate)
    return (found[0], found[1]) if found is not None else (_EPOCH, "after")


def _attachment_of(port: Port, evaluate: str | None) -> tuple[tuple[str, ...], str, str] | None:
    """Where and how often the validation runs: ``(scope path, phase, modifiers)``, or None without one."""
    for (path, phase), items in port.phases.items():
        for item in items:
            if isinstance(item, Attachment) and item.hook == evaluate:
                return path, phase, item.modifiers
    return None


def _metric(monitor: Any, evaluate: str | None) -> str:
    return f"{evaluate or 'evaluate'}.{pipe_name(str(monitor or 'val_loss'), 'metric')}"


def _early_stop(args: dict[str, Any], port: Port, evaluate: str | None) -> None:
    hook_args: dict[str, Any] = {"monitor": _metric(args.get("monitor"), evaluate),
                                 "mode": "max" if args.get("mode") == "max" else "min"}
    if isinstance(args.get("patience"), int) and args["patience"] >= 1:
        hook_args["patience"] = args["patience"]
    if isinstance(args.get("min_delta"), (int, float)) and args["min_delta"] > 0:
        hook_args["min_delta"] = float(args["min_delta"])
    hook = port.add_hook(Hook("stop", "early_stop", hook_args,
                              note=f"monitor {args.get('monitor')!r}: name the metric val_step returns"))
    path, phase = _where_metrics(port, evaluate)
    port.attach(path, phase, Attachment(hook.name))


def _checkpoint(args: dict[str, Any], port: Port, evaluate: str | None, root: str) -> None:
    folder = args.get("dirpath") if isinstance(args.get("dirpath"), str) else f"{root}/checkpoints"
    hook_args: dict[str, Any] = {"dir": folder}
    note = None
    top_k = args.get("save_top_k", 1)
    monitor = args.get("monitor")
    if monitor and evaluate:
        hook_args.update(monitor=_metric(monitor, evaluate), mode="max" if args.get("mode") == "max" else "min")
        if isinstance(top_k, int) and top_k >= 1:
            hook_args["keep_best"] = top_k
        hook_args["keep_last"] = 1
        note = f"monitor {monitor!r}: name the metric val_step returns"
    elif isinstance(top_k, int) and top_k >= 1:
        hook_args["keep_last"] = top_k
    hook = port.add_hook(Hook("save", "checkpoint", hook_args, note=note))
    steps, epochs = args.get("every_n_train_steps"), args.get("every_n_epochs")
    validated = _attachment_of(port, evaluate) if epochs is None else None
    if isinstance(steps, int) and steps >= 1:
        port.attach(_STEP, "after", Attachment(hook.name, _every(steps, "update")))
    elif validated is not None:
        # No trigger of its own: Lightning's ModelCheckpoint saves after each validation
        # (every epoch's end when validation runs there every epoch), so it ranks each result.
        path, phase, modifiers = validated
        port.attach(path, phase, Attachment(hook.name, modifiers))
    else:
        n = epochs if isinstance(epochs, int) and epochs >= 1 else 1
        path, phase = _where_metrics(port, evaluate)
        if path != _EPOCH:
            path, phase = _EPOCH, "after"
        port.attach(path, phase, Attachment(hook.name, _every(n, "epoch")))
    if args.get("save_last"):
        port.attach(("loop",), "after", Attachment(hook.name))


def _plateau(scheduler: Call, spec: Any, port: Port, evaluate: str | None) -> None:
    """``ReduceLROnPlateau`` from LightningCLI's ``lr_scheduler`` section: the ``lr_plateau`` built-in."""
    args = dict(scheduler.args)
    monitor = args.pop("monitor", None) or (spec.get("monitor") if isinstance(spec, dict) else None)
    hook_args: dict[str, Any] = {"monitor": _metric(monitor, evaluate)}
    for key in ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"):
        if key in args:
            hook_args[key] = args[key]
    hook = port.add_hook(Hook("plateau", "lr_plateau", hook_args,
                              note=f"monitor {monitor!r}: name the metric val_step returns"))
    path, phase = _where_metrics(port, evaluate)
    port.attach(path, phase, Attachment(hook.name))


def _swa(args: dict[str, Any], port: Port, trainer: dict[str, Any], scheduled: bool) -> None:
    # Lightning's first averaged epoch (1-based) is swa_epoch_start, or int(max_epochs * it) for a fraction
    start = args.get("swa_epoch_start", 0.8)
    epochs = trainer.get("max_epochs")
    notes = []
    if isinstance(start, float) and isinstance(epochs, int):
        start = int(epochs * start)
    elif isinstance(start, float):
        notes.append(f"swa_epoch_start = {start} is a fraction of max_epochs, which is not set: "
                     "write start = N (the first averaged epoch)")
        start = None
    if isinstance(start, int):
        start = max(1, start)
    if scheduled:
        notes.append("swa runs with no trainer lr_scheduler (Lightning hands the lr to SWALR at `start`): "
                     "remove `lr_scheduler` or this hook")
    hook_args: dict[str, Any] = {"start": start, "lr": args.get("swa_lrs")}
    for src, dst in (("annealing_epochs", "anneal_epochs"), ("annealing_strategy", "anneal_strategy")):
        if src in args:
            hook_args[dst] = args[src]
    hook = port.add_hook(Hook("swa", "swa", {k: v for k, v in hook_args.items() if v is not None},
                              note="; ".join(notes) or None))
    port.attach(_EPOCH, "after", Attachment(hook.name))


def _custom(cls: str, args: dict[str, Any], port: Port) -> None:
    hook = port.add_hook(Hook(pipe_name(cls or "callback"), cls or "unknown.Callback", args, builtin=False,
                              note=f"Lightning callback {cls or '(no class_path)'}: port it to a hookpipe hook class "
                                   "and attach it where its on_* methods run"))
    port.attach(_EPOCH, "after", Attachment(hook.name))
