"""LightningCLI callbacks (``ModelCheckpoint``, ``EarlyStopping``, ``LearningRateMonitor``...) as hooks.

Each translation takes the ``init_args`` it writes from a ``Keys``; ``translate``
marks whatever a translation left, on the hook's own line, so that an argument the
import does not know (or a later Lightning adds) is named rather than dropped.
Lightning's ``EarlyStopping`` and ``ModelCheckpoint`` read the validation's metrics,
so they go after it, where it runs. What maps to what: docs/import.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from hookpipe.compiler.loop import every
from hookpipe.porting.lightning_keys import SETTLED, WHY, Keys, join
from hookpipe.porting.model import Attachment, Hook, Port
from hookpipe.porting.writer import pipe_name

_STEP, _EPOCH = ("loop", "epoch", "step"), ("loop", "epoch")
#: Callbacks whose job hookpipe does itself or that only change Lightning's console output.
_ABSORBED = {"ModelSummary", "RichModelSummary", "TQDMProgressBar", "RichProgressBar"}


@dataclass(frozen=True)
class Context:
    """What the callbacks' translations read besides their own arguments.

    ``trainer`` is the trainer's ``Keys`` (``log_every_n_steps`` is taken where a
    ``LearningRateMonitor`` counts by it); ``scheduler_interval`` is the ``interval`` of
    the config's ``lr_scheduler`` (None without one), at which Lightning's
    ``LearningRateMonitor`` logs by default; ``scheduled``: a trainer ``lr_scheduler`` is written.
    """

    evaluate: str | None
    trainer: Keys
    scheduler_interval: str | None
    root: str
    scheduled: bool = False


def count(value: Any) -> TypeGuard[int]:
    """``value`` is a positive integer (YAML's ``true`` is not one)."""
    return type(value) is int and value >= 1


def metric(monitor: Any, evaluate: str | None) -> str:
    return f"{evaluate or 'evaluate'}.{pipe_name(str(monitor or 'val_loss'), 'metric')}"


def attachment_of(port: Port, evaluate: str | None) -> tuple[tuple[str, ...], str, Attachment] | None:
    """Where the validation is attached, and how (``(scope path, phase, attachment)``); None without one."""
    for (path, phase), items in port.phases.items():
        for item in items:
            if isinstance(item, Attachment) and item.hook == evaluate:
                return path, phase, item
    return None


def where_metrics(port: Port, evaluate: str | None) -> tuple[tuple[str, ...], str]:
    """The phase the validation is attached in (early stopping and checkpoints go after it there)."""
    found = attachment_of(port, evaluate)
    return (found[0], found[1]) if found is not None else (_EPOCH, "after")


def validation_epochs(port: Port, evaluate: str | None) -> int | None:
    """N when the validation runs exactly at every N-th epoch's end (unmarked); None otherwise."""
    found = attachment_of(port, evaluate)
    if found is None or found[0] != _EPOCH or found[2].note:
        return None
    if not found[2].modifiers:
        return 1
    matched = re.fullmatch(r"every (\d+) epochs|every epoch", found[2].modifiers)
    return (int(matched.group(1)) if matched.group(1) else 1) if matched else None


def acts_at_epoch_end(context: Context) -> bool:
    """Lightning validates after every batch (``val_check_interval: 1``, ``check_val_every_n_epoch: 1``), and its
    ``ModelCheckpoint`` and ``EarlyStopping`` act at the training epoch's end, not after each validation.

    They choose by ``trainer.val_check_interval == 1.0 and check_val_every_n_epoch == 1``,
    which the integer 1 meets too; for the default ``1.0`` the validation ends the
    epoch, and they are attached after it there anyway.
    """
    interval, epochs = context.trainer.get("val_check_interval"), context.trainer.get("check_val_every_n_epoch", 1)
    return context.evaluate is not None and type(interval) is int and interval == 1 \
        and type(epochs) is int and epochs == 1


def short_name(spec: Any) -> str:
    """The class name of a ``class_path`` spec (``ModelCheckpoint``); empty without one."""
    cls = spec.get("class_path") if isinstance(spec, dict) else None
    return cls.rsplit(".", 1)[-1] if isinstance(cls, str) else ""


def translate(specs: list[Any], port: Port, context: Context) -> None:
    """Each callback of ``trainer.callbacks``, in order; ``ModelCheckpoint`` last, as Lightning runs it."""
    done: list[tuple[Hook, Keys]] = []
    checkpoints: list[Keys] = []
    for spec in specs:
        cls = spec["class_path"] if isinstance(spec, dict) and isinstance(spec.get("class_path"), str) else ""
        short = cls.rsplit(".", 1)[-1]
        args = Keys(spec.get("init_args") if isinstance(spec, dict) else None, SETTLED.get(short), WHY.get(short))
        if short in _ABSORBED:
            continue
        if short == "ModelCheckpoint":
            checkpoints.append(args)
        elif short == "EarlyStopping":
            done.append((early_stop(args, port, context.evaluate, acts_at_epoch_end(context)), args))
        elif short == "LearningRateMonitor":
            done.append((lr_monitor(args, port, context), args))
        elif short == "StochasticWeightAveraging":
            done.append((swa(args, port, context), args))
        else:
            custom(cls, dict(args), port)
    done += [(checkpoint(args, port, context), args) for args in checkpoints]
    for hook, args in done:  # the one safety net: whatever a translation did not take is named on its hook
        hook.note = join(hook.note, args.untranslated("init_args not translated"))


def early_stop(args: Keys, port: Port, evaluate: str | None, epoch_end: bool = False) -> Hook:
    """``early_stop``: Lightning's ``monitor``, ``mode``, ``patience`` and ``min_delta`` mean the same there.

    Lightning's ``patience: 0`` stops at the first result that does not improve, as
    ``patience = 1`` does (its count of such results is compared with ``>=``).
    ``check_finite`` (on by default) also stops at once on a NaN or infinite value,
    which ``early_stop`` does not do: said in the mark, which the monitor needs anyway.
    ``epoch_end`` (``acts_at_epoch_end``): Lightning validates after every batch and,
    unless ``check_on_train_epoch_end: false``, judges at the epoch's end only.
    """
    monitor, mode = args.take("monitor"), args.get("mode", "min")
    if mode in ("min", "max"):
        args.take("mode")
    hook_args: dict[str, Any] = {"monitor": metric(monitor, evaluate), "mode": "max" if mode == "max" else "min"}
    patience = args.get("patience")
    if type(patience) is int and patience >= 0:
        hook_args["patience"] = max(1, args.take("patience"))
    delta = args.get("min_delta", 0.0)
    if isinstance(delta, (int, float)) and not isinstance(delta, bool) and delta >= 0:
        if args.take("min_delta", 0.0) > 0:
            hook_args["min_delta"] = float(delta)
    args.take_all(("verbose", "log_rank_zero_only"))  # what Lightning prints, and on which process
    on_epoch_end = args.get("check_on_train_epoch_end")
    if on_epoch_end is False or validation_epochs(port, evaluate) == 1 or (epoch_end and on_epoch_end in (None, True)):
        args.take("check_on_train_epoch_end")  # judged after each validation (which ends each epoch), or at the end
    finite = args.take("check_finite", True) is not False
    # the keys left are named before check_finite's note, which holds for Lightning's default
    note = join(f"monitor {monitor!r}: name the metric val_step returns",
                args.untranslated("init_args not translated"),
                "Lightning also stops on a NaN or inf (check_finite)" if finite else None)
    hook = port.add_hook(Hook("stop", "early_stop", hook_args, note=note))
    path, phase = (_EPOCH, "after") if epoch_end and on_epoch_end is not False else where_metrics(port, evaluate)
    port.attach(path, phase, Attachment(hook.name))
    return hook


def checkpoint(args: Keys, port: Port, context: Context) -> Hook:
    """``checkpoint``: ``every_n_train_steps`` counts optimizer steps, so ``every N updates``.

    Without a trigger of its own Lightning's ``ModelCheckpoint`` saves after each
    validation, so it ranks each result: it is attached where the validation is, as
    often, and marked where that attachment is (Lightning's frequency differs). Where
    Lightning validates after every batch it saves at each epoch's end instead
    (``acts_at_epoch_end``).
    """
    evaluate = context.evaluate
    dirpath = args.take("dirpath")
    hook_args: dict[str, Any] = {"dir": dirpath if isinstance(dirpath, str) else f"{context.root}/checkpoints"}
    notes = []
    top_k, monitor, mode = args.get("save_top_k", 1), args.take("monitor"), args.get("mode", "min")
    if mode in ("min", "max"):
        args.take("mode")
    if count(top_k) or top_k == -1:
        args.take("save_top_k")  # -1 keeps every checkpoint: neither keep_best nor keep_last
    if monitor and evaluate:
        hook_args.update(monitor=metric(monitor, evaluate), mode="max" if mode == "max" else "min")
        if count(top_k):
            hook_args.update(keep_best=top_k, keep_last=1)
        notes.append(f"monitor {monitor!r}: name the metric val_step returns")
    else:
        if monitor:
            notes.append(f"monitor {monitor!r}: there is no validation here to rank checkpoints by")
        if count(top_k):
            hook_args["keep_last"] = top_k
    args.take_all(("verbose", "save_last"))  # save_last: also in loop.after, below
    hook = port.add_hook(Hook("save", "checkpoint", hook_args, note=join(*notes)))
    _attach_checkpoint(hook.name, args, port, evaluate, acts_at_epoch_end(context))
    if args.get("save_last"):
        port.attach(("loop",), "after", Attachment(hook.name))
    return hook


def _attach_checkpoint(name: str, args: Keys, port: Port, evaluate: str | None, epoch_end: bool = False) -> None:
    """Attach ``name`` where Lightning's trigger (``every_n_train_steps``, ``every_n_epochs``, a validation) saves.

    Lightning refuses both triggers together, and with one at 0 and the other unset
    (or 0) saves nothing periodically: such a value is not taken, so it is marked. A 0
    beside the other trigger is Lightning's "off", as unset. ``epoch_end``: Lightning
    saves at the end of every (``every_n_epochs``-th) epoch, not after each validation.
    """
    steps, epochs = args.get("every_n_train_steps"), args.get("every_n_epochs")
    if steps is None or count(steps) or (steps == 0 and count(epochs)):
        args.take("every_n_train_steps")
    if epochs is None or (count(epochs) and not count(steps)) or (epochs == 0 and count(steps)):
        args.take("every_n_epochs")
    validated = attachment_of(port, evaluate) if epochs is None and not epoch_end else None
    if count(steps):
        port.attach(_STEP, "after", Attachment(name, every(steps, "update")))
    elif epoch_end:
        port.attach(_EPOCH, "after", Attachment(name, every(epochs if count(epochs) else 1, "epoch")))
    elif validated is not None:
        path, phase, attachment = validated
        note = "Lightning saves after each validation: as evaluate's attachment says" if attachment.note else None
        port.attach(path, phase, Attachment(name, attachment.modifiers, note))
    else:
        n = epochs if count(epochs) else 1
        path, phase = where_metrics(port, evaluate)
        if path != _EPOCH:
            path, phase = _EPOCH, "after"
        shown = validation_epochs(port, evaluate)
        note = None
        if evaluate is not None and (shown is None or n % shown):
            note = f"every_n_epochs {n}: Lightning saves at the end of each validation in those epochs, " \
                   "here at their ends"
        port.attach(path, phase, Attachment(name, every(n, "epoch"), note))


def lr_monitor(args: Keys, port: Port, context: Context) -> Hook:
    """``log()`` where Lightning's ``LearningRateMonitor`` logs the learning rate.

    ``logging_interval: step`` logs every ``log_every_n_steps`` optimizer steps (``every N
    updates``), ``epoch`` once per epoch (at the next epoch's start, which is this
    epoch's end); without one, Lightning logs a scheduler's rate when it steps it, and
    an optimizer without a scheduler at both.
    """
    interval = args.get("logging_interval")
    if interval in (None, "step", "epoch"):
        args.take("logging_interval")
    by_step = interval == "step" or (interval is None and context.scheduler_interval != "epoch")
    by_epoch = interval == "epoch" or (interval is None and context.scheduler_interval != "step")
    hook = port.add_hook(Hook("lr_monitor", "log"))
    if by_step:
        log_every = context.trainer.get("log_every_n_steps")
        if count(log_every) or log_every is None:
            context.trainer.take("log_every_n_steps")
        n = log_every if count(log_every) else 50  # Lightning's default
        port.attach(_STEP, "after", Attachment(hook.name, every(n, "update")))
    if by_epoch:
        port.attach(_EPOCH, "after", Attachment(hook.name))
    return hook


def swa(args: Keys, port: Port, context: Context) -> Hook:
    """``swa``: Lightning's first averaged epoch (1-based) is ``swa_epoch_start``, or ``int(max_epochs * it)``."""
    start = args.take("swa_epoch_start", 0.8)
    epochs = context.trainer.get("max_epochs")
    notes = []
    if isinstance(start, float) and isinstance(epochs, int):
        start = int(epochs * start)
    elif isinstance(start, float):
        notes.append(f"swa_epoch_start = {start} is a fraction of max_epochs, which is not set: "
                     "write start = N (the first averaged epoch)")
        start = None
    if isinstance(start, int):
        start = max(1, start)
    if context.scheduled:
        notes.append("swa runs with no trainer lr_scheduler (Lightning hands the lr to SWALR at `start`): "
                     "remove `lr_scheduler` or this hook")
    lrs = args.get("swa_lrs")
    if isinstance(lrs, (int, float)) and not isinstance(lrs, bool):
        args.take("swa_lrs")
    hook_args: dict[str, Any] = {"start": start, "lr": lrs}
    for src, dst in (("annealing_epochs", "anneal_epochs"), ("annealing_strategy", "anneal_strategy")):
        if src in args:
            hook_args[dst] = args.take(src)
    hook = port.add_hook(Hook("swa", "swa", {k: v for k, v in hook_args.items() if v is not None},
                              note=join(*notes)))
    port.attach(_EPOCH, "after", Attachment(hook.name))
    return hook


def custom(cls: str, args: dict[str, Any], port: Port) -> None:
    """Any other callback: its class with all its ``init_args``, marked for a person to port."""
    hook = port.add_hook(Hook(pipe_name(cls or "callback"), cls or "unknown.Callback", args, builtin=False,
                              note=f"Lightning callback {cls or '(no class_path)'}: port it to a hookpipe hook class "
                                   "and attach it where its on_* methods run"))
    port.attach(_EPOCH, "after", Attachment(hook.name))
