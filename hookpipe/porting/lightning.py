"""A LightningCLI YAML config (``fit`` settings) as a ``Port``.

Lightning runs a callback hook in callback list order, with ``ModelCheckpoint``
moved to the end; the import writes each phase in that order. Validation ends an
epoch (``check_val_every_n_epoch``) or runs every ``val_check_interval`` training
batches; ``EarlyStopping`` and ``ModelCheckpoint`` read its metrics, so they come
after it. Every trainer key, callback argument and logger argument is either
translated or named in a mark (``lightning_keys``). What maps to what: docs/import.md.
"""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.loop import every
from hookpipe.porting import lightning_callbacks as callbacks
from hookpipe.porting.lightning_callbacks import Context, count, metric, where_metrics
from hookpipe.porting.lightning_keys import (
    SETTLED,
    TRAINER_NOTHING_TO_DO,
    TRAINER_SETTLED,
    TRAINER_WHY,
    Keys,
    join,
    shown,
)
from hookpipe.porting.model import Attachment, Call, Hook, Port, RunValue
from hookpipe.porting.writer import split_writable

_PRECISION = {"16-mixed": "fp16", "16": "fp16", 16: "fp16", "bf16-mixed": "bf16", "bf16": "bf16",
              "32": "no", 32: "no", "32-true": "no", None: "no"}
_LOGGERS = {"TensorBoardLogger": "tensorboard", "CSVLogger": "csv", "WandbLogger": "wandb",
            "MLFlowLogger": "mlflow", "CometLogger": "comet_ml"}
_STEP, _EPOCH = ("loop", "epoch", "step"), ("loop", "epoch")


class LightningInputError(ValueError):
    """The YAML is not a LightningCLI config; the message says what was expected."""


#: What the import reads, said to a user who gave it a training script (``Trainer(...)`` in Python).
NOT_A_CLI_CONFIG = ("hookpipe import lightning reads a LightningCLI YAML config, not Python: write the Trainer(...) "
                    "arguments as a config.yaml with a `trainer:` section (LightningCLI's --print_config writes one), "
                    "or port the script by hand")


def port_lightning(cfg: Any, name: str, source: str, module: str | None = None) -> Port:
    """The ``Port`` of a LightningCLI config (``fit:`` may wrap it, as ``--print_config`` writes it)."""
    if not isinstance(cfg, dict):
        # A Python script often reads as YAML: one long string.
        python = isinstance(cfg, str) and any(word in cfg for word in ("import ", "Trainer(", "def "))
        raise LightningInputError(NOT_A_CLI_CONFIG if python or source.endswith(".py") else
                                  "expected a mapping with a `trainer` section (a LightningCLI YAML config)")
    if isinstance(cfg.get("fit"), dict):
        cfg = cfg["fit"]
    if not isinstance(cfg.get("trainer") or {}, dict):
        raise LightningInputError("`trainer` must be a mapping")
    trainer = Keys(cfg.get("trainer") or {}, TRAINER_SETTLED, TRAINER_WHY)
    port = Port(name=name, source=source, kind="lightning", module=module)
    _length(trainer, port, cfg.get("ckpt_path"))
    _training(trainer, port)
    _placement(trainer, port)
    seed = cfg.get("seed_everything")
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        port.setting("seed", seed)
    model = _class_call(cfg.get("model"))
    port.setting("model", model or Call(port.need("build_model", "the model")))
    _dataloader(cfg.get("data"), port, trainer.take("limit_train_batches"))
    port.setting("optimizer", _class_call(cfg.get("optimizer"), "torch.optim.")
                 or Call(port.need("optimizer", "the optimizer (configure_optimizers)")))
    scheduler_config = _scheduler_config(cfg.get("lr_scheduler"))
    scheduler = _class_call(scheduler_config.get("scheduler"), "torch.optim.lr_scheduler.")
    plateau = isinstance(scheduler, Call) and str(scheduler.callee).endswith("ReduceLROnPlateau")
    if scheduler is not None and not plateau:
        _scheduler(scheduler, scheduler_config, trainer, port)
    port.setting("batch_processor", Call(port.need("Processor", "a batch processor running the LightningModule's "
                                                                "training_step")))
    _step_hooks(trainer, port)
    evaluate = _validation(trainer, port)
    if plateau:
        assert isinstance(scheduler, Call)
        _plateau(scheduler, scheduler_config, port, evaluate)
    given = trainer.take("default_root_dir")
    interval = str(scheduler_config.get("interval", "epoch")) if scheduler is not None else None
    # What Lightning's loggers record, one log() (callbacks.log_records says why one); a LearningRateMonitor joins it.
    logger = port.add_hook(Hook("logger", "log")) if _logs(trainer.get("logger")) else None
    context = Context(evaluate, trainer, interval, given if isinstance(given, str) else "lightning_logs",
                      scheduler is not None and not plateau, logger)
    specs = trainer.get("callbacks")
    if specs is None or isinstance(specs, (dict, list)):
        trainer.take("callbacks")
    specs = [specs] if isinstance(specs, dict) else specs if isinstance(specs, list) else []
    given_one = any(callbacks.short_name(spec) == "ModelCheckpoint" for spec in specs)
    enabled = trainer.get("enable_checkpointing")
    if enabled is None or enabled is True or (enabled is False and not given_one):  # false beside one: refused
        trainer.take("enable_checkpointing")
    if enabled is not False and not given_one:
        specs = [*specs, {"class_path": "ModelCheckpoint"}]  # Lightning's default one: after each validation
    callbacks.translate(specs, port, context)
    callbacks.log_records(port, context)
    _loggers(trainer, port, given if isinstance(given, str) else None)
    trainer.take_all(TRAINER_NOTHING_TO_DO)
    # Lightning's Trainer keys that no translation took: on the line that stands in for the Trainer's loop.
    _mark(port, ("batch_processor",), trainer.untranslated("Lightning trainer keys not translated"))
    return port


def _training(trainer: Keys, port: Port) -> None:
    """``accumulate_grad_batches``, ``precision`` and ``enable_progress_bar``: trainer settings of the same meaning."""
    accumulate = trainer.get("accumulate_grad_batches")
    if count(accumulate) or accumulate is None:
        trainer.take("accumulate_grad_batches")
    if count(accumulate) and accumulate > 1:
        port.setting("grad_accumulation", accumulate)
    precision = trainer.take("precision")
    mode = _precision(precision)
    if mode is None:
        port.setting("mixed_precision", "no", f"precision {precision!r} has no hookpipe setting")
    elif mode != "no":
        port.setting("mixed_precision", mode)
    progress = trainer.get("enable_progress_bar")
    if isinstance(progress, bool) or progress is None:
        trainer.take("enable_progress_bar")
    if progress is False:
        port.setting("progress", False)


def _step_hooks(trainer: Keys, port: Port) -> None:
    """``step.after``: gradient clipping (``gradient_clip_val``, ``gradient_clip_algorithm``), then the update."""
    clip_val, algorithm = trainer.get("gradient_clip_val"), trainer.get("gradient_clip_algorithm")
    number = isinstance(clip_val, (int, float)) and not isinstance(clip_val, bool)
    if number or clip_val is None:
        trainer.take("gradient_clip_val")
    if algorithm in (None, "norm", "value"):
        trainer.take("gradient_clip_algorithm")
    step_after: list[Any] = []
    if number and clip_val > 0:
        if algorithm == "value":
            clip = Hook("clip", "grad_clip", {"mode": "value", "clip_value": float(clip_val)})
        else:
            clip = Hook("clip", "grad_clip", {"mode": "norm", "max_norm": float(clip_val)})
        step_after.append(Attachment(port.add_hook(clip).name))
    step_after.append(Attachment(port.add_hook(Hook("optimize", "optimizer")).name))
    port.phases[(_STEP, "after")] = step_after


def _mark(port: Port, keys: tuple[str, ...], note: str | None) -> None:
    """Add ``note`` to the first of the settings ``keys`` that is written."""
    settings = {s.key: s for s in port.settings}
    target = next((settings[key] for key in keys if key in settings), None)
    if note and target is not None:
        target.note = join(target.note, note)


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


def _length(trainer: Keys, port: Port, ckpt_path: Any = None) -> None:
    """``max_epochs``, ``max_steps`` and what else ends (or lengthens) the run.

    Lightning's ``max_steps`` counts optimizer steps, hookpipe's ``max_step`` batches:
    under ``accumulate_grad_batches = A`` it is written times A, and marked, because
    both end an accumulation window at each epoch's end, so A batches are one update
    only when every epoch's batch count is a multiple of A. ``fit``'s ``ckpt_path``
    (which checkpoint the run starts from) is the run's, not the file's: it is marked
    here, with the ``--resume`` that does it.
    """
    epochs, steps = trainer.take("max_epochs"), trainer.take("max_steps")
    accumulate = trainer.get("accumulate_grad_batches")
    factor = accumulate if count(accumulate) else 1
    unported = [f"Lightning's {key} {what}" for key, what in _UNPORTED_LENGTH.items()
                if trainer.take(key) not in (None, False, 0, 0.0)]
    if ckpt_path:
        unported.append(f"Lightning's ckpt_path {str(ckpt_path)[:40]!r} resumes: hookpipe run FILE --resume "
                        f"{'auto' if ckpt_path in ('last', 'hpc') else 'DIR'}")
    if count(steps):
        port.setting("max_step", steps * factor, None if factor == 1 else (
            f"Lightning's max_steps {steps} counts optimizer steps: {steps * factor} batches are {steps} updates "
            f"only if every epoch's batch count is a multiple of {factor} (an epoch's end also ends a window)"))
    if count(epochs):
        port.setting("max_epoch", epochs)
    elif not count(steps):
        port.setting("max_epoch", 1000, "Lightning's default when max_epochs and max_steps are unset (or -1): "
                                        "set the run's length")
    _mark(port, ("max_epoch", "max_step"), join(*unported))  # the run's length
    sanity = trainer.take("num_sanity_val_steps")
    if type(sanity) is int and sanity >= 0:
        port.setting("sanity_val_batches", sanity)
    elif sanity is not None:
        port.setting("sanity_val_batches", 2, f"num_sanity_val_steps = {sanity} (all of them, or not a count): "
                                              "give the number of validation batches to check before training")


#: Lightning's strategies whose model wrapping hookpipe leaves to an accelerate config (by prefix).
_SHARDED = ("deepspeed", "fsdp")
#: Strategies (lower case, by prefix) whose placement is hookpipe's too, or marked below.
_STRATEGIES = ("auto", "single_device", "singledevice", "ddp", *_SHARDED)
_ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu", "hpu", "ipu")
_PLACEMENT = ("accelerator", "devices", "num_nodes", "strategy", "deterministic", "benchmark")


def _placement(trainer: Keys, port: Port) -> None:
    """Where Lightning trained (``accelerator``, ``devices``, ``num_nodes``, ``strategy``) and its torch flags.

    ``accelerator: cpu`` is hookpipe's ``cpu = true``. The process count is not a
    setting of the file but of the run (``hookpipe run --processes N``, or
    ``accelerate launch``), and ``deterministic``/``benchmark`` set torch flags that
    hookpipe leaves to the user's code: each is marked, tersely (a long mark goes on
    over comment lines; docs/import.md says more), on the ``cpu`` line, which
    is written for it (``false`` is the default), so that none is lost without a word.
    """
    notes = []
    devices, nodes, strategy = trainer.take("devices"), trainer.get("num_nodes"), trainer.get("strategy")
    number = len(devices) if isinstance(devices, list) else devices if type(devices) is int else None
    if number is not None and number > 1:
        notes.append(f"devices {number}: hookpipe run --processes {number}")
    elif devices not in (None, 1, "1", "auto") and number != 1:
        notes.append(f"devices {str(devices)[:20]!r}: hookpipe run --processes N")
    if count(nodes):
        trainer.take("num_nodes")
        if nodes > 1:
            notes.append(f"num_nodes {nodes}: accelerate launch on each machine")
    name = (_class_name(strategy) or (strategy if isinstance(strategy, str) else "")).rsplit(".", 1)[-1]
    short = name.lower()
    if short.startswith(_STRATEGIES):
        trainer.take("strategy")
    if short.startswith("ddp") and not notes:
        notes.append(f"strategy {name[:30]!r}: hookpipe run --processes N")
    if short.startswith(_SHARDED):
        notes.append(f"strategy {name[:30]!r}: needs an accelerate config")
    flags = [key for key in ("deterministic", "benchmark") if trainer.get(key) is True]
    trainer.take_all(key for key in ("deterministic", "benchmark")
                     if trainer.get(key) is None or isinstance(trainer.get(key), bool))
    if flags:
        notes.append(f"{', '.join(flags)}: set torch's flag{'s' if len(flags) > 1 else ''} in the model factory")
    accelerator = trainer.get("accelerator")
    if isinstance(accelerator, str) and accelerator.lower() in _ACCELERATORS:
        trainer.take("accelerator")
    cpu = isinstance(accelerator, str) and accelerator.lower() == "cpu"
    if isinstance(accelerator, str) and accelerator.lower() in ("tpu", "hpu", "ipu"):
        notes.append(f"accelerator {accelerator!r}: needs an accelerate config")
    note = join("Lightning's " + "; ".join(notes) if notes else None,
                Keys(_init_args(strategy)).untranslated(f"{name} init_args not translated"),
                trainer.untranslated(only=_PLACEMENT))
    if cpu or note:
        port.setting("cpu", cpu, note)


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
    # run.updates_per_epoch is an epoch's updates under the run's accumulation (ceil(steps_per_epoch / A), each
    # epoch's end closing a window, in Lightning as in accelerate): right under `--set trainer.grad_accumulation=N`
    # too, where a factory that divides steps_per_epoch by the config's A would not be.
    unit = "epoch" if every == 1 else f"{every} epochs"
    told = "" if interval == "epoch" else f" (interval {interval!r} is neither step nor epoch)"
    args: dict[str, Any] = {"class_path": str(scheduler.callee), "init_args": dict(scheduler.args),
                            "updates_per_epoch": RunValue("updates_per_epoch")}
    port.setting("lr_scheduler",
                 Call(port.need("lr_scheduler", "the learning-rate schedule, stepped once per update"), args),
                 f"Lightning steps {short} once per {unit}{told}, hookpipe once per update: write "
                 f"project.lr_scheduler to step it once every updates_per_epoch{'' if every == 1 else f' x {every}'} "
                 "updates, or count its arguments in updates")


#: Schedulers that Lightning steps per epoch and that are exact per update: StepLR with step_size = the
#: updates of an epoch (run.updates_per_epoch: under accumulation both Lightning and accelerate end a window at
#: each epoch's last batch, so an epoch is ceil(batches / A) updates in both) changes the lr at the same updates.
#: Exact only when every update steps the scheduler (no fp16: its scaler skips steps) and epochs are whole.
_EXPONENTIAL, _STEP_LR = "torch.optim.lr_scheduler.ExponentialLR", "torch.optim.lr_scheduler.StepLR"


def _per_update(scheduler: Call, trainer: dict[str, Any]) -> Call | None:
    """The per-update form of a per-epoch ``scheduler``, when one is exact."""
    args = scheduler.args
    exponential = scheduler.callee == _EXPONENTIAL and set(args) == {"gamma"}
    every_epoch = scheduler.callee == _STEP_LR and type(args.get("step_size")) is int and args["step_size"] == 1 \
        and set(args) <= {"step_size", "gamma"}
    if not (exponential or every_epoch):
        return None
    if _precision(trainer.get("precision")) == "fp16" or trainer.get("limit_train_batches") not in (None, 1.0):
        return None
    out: dict[str, Any] = {"step_size": RunValue("updates_per_epoch")}
    if "gamma" in args:
        out["gamma"] = args["gamma"]
    return Call(_STEP_LR, out)


def _logs(loggers: Any) -> bool:
    """Whether Lightning logs: with its default logger (``logger`` unset, null or true) or those given; not with
    ``false`` or an empty list."""
    return loggers is not False and loggers != []


def _loggers(trainer: Keys, port: Port, root_dir: str | None) -> None:
    """``logger`` as ``log_with`` and ``log_dir`` (its ``save_dir``), for the ``log()`` the import wrote.

    Without a ``logger`` (or with ``true``) Lightning logs with its default logger,
    TensorBoardLogger where tensorboard is installed, else CSVLogger, into
    ``default_root_dir/lightning_logs``: the file gets the CSV tracker there, marked,
    so that its records go somewhere (HP111 otherwise). ``false`` (or an empty list)
    logs nothing: no tracker, and no ``log()`` (``_logs``).
    """
    loggers = trainer.take("logger")
    if loggers is None or loggers is True:
        port.setting("log_with", ["csv"], "Lightning's default logger: TensorBoardLogger where tensorboard is "
                                          'installed, else CSVLogger; write ["tensorboard"] for the former')
        port.setting("log_dir", f"{root_dir}/lightning_logs" if root_dir else "lightning_logs")
        return
    if not _logs(loggers):
        return
    names: list[str] = []
    folder: str | None = None
    notes: list[str | None] = []
    for spec in loggers if isinstance(loggers, list) else [loggers]:
        cls = _class_name(spec)
        short = cls.rsplit(".", 1)[-1]
        if short not in _LOGGERS:
            notes.append(f"logger {shown(cls or spec)} not translated: log_with names accelerate's trackers")
            continue
        names.append(_LOGGERS[short])
        args = Keys(_init_args(spec), SETTLED.get(short))
        save = args.take("save_dir")
        if isinstance(save, str) and folder not in (None, save):
            notes.append(f"{short} save_dir {save!r}: one log_dir holds every tracker's files")
        folder = folder or (save if isinstance(save, str) else None)
        notes.append(args.untranslated(f"{short} init_args not translated"))
    if names or any(notes):
        port.setting("log_with", names, join(*notes))
    if folder:
        port.setting("log_dir", folder)


#: The trainer keys of when and how much Lightning validates.
_WHEN_VALIDATED = ("val_check_interval", "check_val_every_n_epoch")


def _validation(trainer: Keys, port: Port) -> str | None:
    """The validation hook, attached where Lightning validates, or marked where the language cannot say it.

    Lightning validates when ``(i + 1) % val_check_interval == 0``, ``i`` the batch's
    index in the run with ``check_val_every_n_epoch: null`` (``every N steps``), in its
    epoch otherwise (``every N batches``, counted from 1 again each epoch). With
    ``check_val_every_n_epoch: M`` above 1 it validates only in every M-th epoch, which
    no attachment says: marked. A fraction of an epoch is marked too (its batch count
    depends on the loader's length); without either, the validation ends every M-th
    epoch (``every M epochs``).
    """
    limit = trainer.take("limit_val_batches")
    if type(limit) in (int, float) and limit == 0:
        trainer.take_all(_WHEN_VALIDATED)  # no validation: nothing to time
        return None
    note = None
    if limit is not None and limit != 1.0:
        share = f"{limit} batches" if type(limit) is int else f"the fraction {limit} of the batches"
        note = f"Lightning's limit_val_batches validates {share}: make val_loader yield that many"
    hook = port.add_hook(Hook("evaluate", "validation", {
        "callback": port.need("val_step", "val_step(model, batch): per-sample metrics (validation_step)"),
        "dataloader": Call(port.need("val_loader", "the validation DataLoader (val_dataloader())"))}, note=note))
    interval, epochs = trainer.get("val_check_interval"), trainer.get("check_val_every_n_epoch", 1)
    fraction = isinstance(interval, float) and 0 < interval < 1
    whole = interval is None or (type(interval) is float and interval == 1.0)  # Lightning's default: the epoch's end
    if count(interval) or fraction or whole:
        trainer.take("val_check_interval")
    if count(epochs) or (epochs is None and count(interval)):
        trainer.take("check_val_every_n_epoch")
    n = epochs if count(epochs) else 1
    within = "" if n == 1 else f", in one epoch of every {n}"
    if count(interval) and epochs is None:  # Lightning counts the run's batches (total_batch_idx)
        attachment = Attachment(hook.name, every(interval, "step"))
    elif count(interval):  # the epoch's batches (batch_idx), as `every N batches` counts them
        attachment = Attachment(hook.name, every(interval, "batch"), None if n == 1 else (
            f"Lightning validates every {interval} batches{within}; here every {interval} batches of every epoch"))
    elif fraction:
        attachment = Attachment(hook.name, every(n, "epoch") if n > 1 else "", (
            f"Lightning validates {round(1 / interval)} times an epoch (val_check_interval {interval}){within}; "
            "here at the epoch's end only: attach it `every N batches` for the others"))
    else:
        attachment = Attachment(hook.name, every(n, "epoch"))
        if epochs is None and whole:
            attachment.note = "Lightning refuses check_val_every_n_epoch null without an integer val_check_interval"
    path = _STEP if count(interval) else _EPOCH
    attachment.note = join(attachment.note, trainer.untranslated(only=_WHEN_VALIDATED))
    port.attach(path, "after", attachment)
    return hook.name


def _plateau(scheduler: Call, spec: Any, port: Port, evaluate: str | None) -> None:
    """``ReduceLROnPlateau`` from LightningCLI's ``lr_scheduler`` section: the ``lr_plateau`` built-in."""
    args = dict(scheduler.args)
    monitor = args.pop("monitor", None) or (spec.get("monitor") if isinstance(spec, dict) else None)
    hook_args: dict[str, Any] = {"monitor": metric(monitor, evaluate)}
    for key in ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"):
        if key in args:
            hook_args[key] = args[key]
    hook = port.add_hook(Hook("plateau", "lr_plateau", hook_args,
                              note=f"monitor {monitor!r}: name the metric val_step returns"))
    path, phase = where_metrics(port, evaluate)
    port.attach(path, phase, Attachment(hook.name))
