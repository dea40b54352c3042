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

    ``trainer`` is the trainer's ``Keys``; ``scheduler_interval`` is the ``interval`` of
    the config's ``lr_scheduler`` (None without one), at which Lightning's
    ``LearningRateMonitor`` logs by default; ``scheduled``: a trainer ``lr_scheduler`` is
    written; ``logger``: the ``log()`` hook that writes what Lightning's loggers record
    (None where Lightning logs nothing, ``logger: false``), which a ``LearningRateMonitor``
    joins (``log()`` records the learning rates, ``lr/<i>``, in every record).
    """

    evaluate: str | None
    trainer: Keys
    scheduler_interval: str | None
    root: str
    scheduled: bool = False
    logger: Hook | None = None


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


#: Lightning's ``log_every_n_steps`` where the config leaves it unset.
LOG_EVERY_N_STEPS = 50


def log_interval(trainer: Keys) -> tuple[int, str | None]:
    """``log_every_n_steps`` as the N of ``every N updates`` (Lightning counts optimizer steps).

    Unset, Lightning's default (50); a value that is no count is left for a mark (the
    second item, for the attachment's line), and the default is written.
    """
    value = trainer.get("log_every_n_steps")
    if count(value) or value is None:
        trainer.take("log_every_n_steps")
        return (value if count(value) else LOG_EVERY_N_STEPS), None
    return LOG_EVERY_N_STEPS, trainer.untranslated(only=("log_every_n_steps",))


def log_records(port: Port, context: Context) -> None:
    """Attach ``context.logger`` where Lightning's loggers write: the training values, and each validation's results.

    Lightning logs what ``training_step`` logs every ``log_every_n_steps`` optimizer
    steps (``every N updates`` in ``step.after``) and a validation's results when that
    validation ends, at its step. The validation's own ``after`` phase (``validation
    evaluate { after { logger } }``) runs exactly then, wherever and as often as
    ``evaluate`` is attached, so each result is one record at its own step.

    Why one ``log()`` in two phases, and not a second ``log()`` hook, nor the same hook
    attached again in ``evaluate``'s phase: a ``log()`` firing writes the mean loss since
    *its* previous firing and the validation metrics *it* has not written yet, and a
    firing at the step of its previous record with nothing new writes nothing
    (``runtime/builtins/log.py``). One hook therefore puts every step's loss and every
    validation result into exactly one record, and a periodic firing at a validation's
    step adds no second row. A second ``log()`` keeps its own loss window and its own
    view of the metrics: it would write each validation result again at its next
    firing (at a step where no validation ran) and mix two windows in one ``loss``
    column. The same hook attached twice in ``step.after`` (``every 10 updates`` and
    ``every 50 batches``) is HP107 (overlapping attachments of one hook in a phase),
    and would have to repeat ``evaluate``'s frequency; the validation's ``after`` is
    another phase and follows ``evaluate`` by construction.
    """
    hook = context.logger
    if hook is None:
        context.trainer.take("log_every_n_steps")  # Lightning logs nothing: the interval counts nothing
        return
    n, note = log_interval(context.trainer)
    _attach_once(port, _STEP, "after", Attachment(hook.name, every(n, "update"), note))
    if context.evaluate is not None:
        port.attach_validation(context.evaluate, ("validation",), "after", Attachment(hook.name))


def _attach_once(port: Port, path: tuple[str, ...], phase: str, item: Attachment) -> None:
    """Attach ``item`` unless its hook is attached in that phase already (HP107 otherwise)."""
    if not any(isinstance(i, Attachment) and i.hook == item.hook for i in port.phases.get((path, phase), [])):
        port.attach(path, phase, item)


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
    if epoch_end and on_epoch_end is not False:
        port.attach(_EPOCH, "after", Attachment(hook.name))
    elif evaluate is not None:  # Lightning's on_validation_end: the validation's own `after`, once per result
        port.attach_validation(evaluate, ("validation",), "after", Attachment(hook.name))
    else:
        port.attach(*where_metrics(port, evaluate), Attachment(hook.name))
    return hook


def checkpoint(args: Keys, port: Port, context: Context) -> Hook:
    """``checkpoint``: ``every_n_train_steps`` counts optimizer steps, so ``every N updates``.

    Without a trigger of its own Lightning's ``ModelCheckpoint`` saves after each
    validation, so it ranks each result: it is attached where the validation is, as
    often, and marked where that attachment is (Lightning's frequency differs). Where
    Lightning validates after every batch it saves at each epoch's end instead
    (``acts_at_epoch_end``).

    ``save_top_k: K`` with a monitor is ``keep_best = K, keep_last = 1``: ``checkpoint``
    prunes to its ``keep_last`` newest plus its ``keep_best`` best (``keep_best`` alone
    prunes nothing), so the newest is kept too, which is what ``save_last`` adds in
    Lightning (``last.ckpt``, written at each save beside the top K); ``--resume latest``
    resumes from it, as Lightning's ``ckpt_path: last``. ``save_last`` is therefore
    already written, with no save of its own (a save in ``loop.after`` would be a
    checkpoint Lightning never writes, unranked: HP108). Where Lightning writes
    ``last.ckpt`` at validations (or epoch ends) on which this hook does not save
    (``every_n_train_steps``, or ``every_n_epochs`` at other epochs than the
    validation's), it is marked: the newest kept is the newest of this hook's saves.
    """
    evaluate = context.evaluate
    dirpath = args.take("dirpath")
    hook_args: dict[str, Any] = {"dir": dirpath if isinstance(dirpath, str) else f"{context.root}/checkpoints"}
    notes = []
    top_k, monitor, mode = args.get("save_top_k", 1), args.take("monitor"), args.get("mode", "min")
    given_last = args.get("save_last")
    if given_last is None or isinstance(given_last, bool) or given_last == "link":
        args.take("save_last")
    last = given_last is True or given_last == "link"  # "link": last.ckpt links to the newest save, the same one
    none_ranked = type(top_k) is int and top_k == 0  # Lightning keeps no top-k checkpoint
    if mode in ("min", "max"):
        args.take("mode")
    if count(top_k) or top_k == -1 or (none_ranked and last):
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
    if last and none_ranked:  # Lightning keeps last.ckpt alone
        hook_args["keep_last"] = 1
    args.take("verbose")
    steps, epochs = args.get("every_n_train_steps"), args.get("every_n_epochs")
    elsewhere = count(epochs) and epochs > 1 and (evaluate is None or validation_epochs(port, evaluate) != epochs)
    if last and (count(steps) or elsewhere):
        notes.append("save_last: Lightning also writes last.ckpt at each validation (each epoch's end without one); "
                     "here the newest kept is this hook's newest save")
    hook = port.add_hook(Hook("save", "checkpoint", hook_args, note=join(*notes)))
    _attach_checkpoint(hook.name, args, port, evaluate, acts_at_epoch_end(context))
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
    """Lightning's ``LearningRateMonitor``, folded into the ``log()`` of the loggers (``context.logger``).

    ``log()`` records the learning rates (``lr/<i>``) in each of its records, so
    ``logging_interval: step`` (every ``log_every_n_steps`` optimizer steps) is the
    ``every N updates`` attachment ``log_records`` writes anyway; ``epoch`` (once per
    epoch, at the next epoch's start: this epoch's end) adds a record at each epoch's
    end (``epoch.after``); without one, Lightning logs a scheduler's rate when it steps
    it, and an optimizer without a scheduler at both. Its own arguments are marked on
    that hook's line. With ``logger: false`` Lightning refuses the callback: a ``log()``
    is written where it would log, marked.
    """
    interval = args.get("logging_interval")
    if interval in (None, "step", "epoch"):
        args.take("logging_interval")
    by_step = interval == "step" or (interval is None and context.scheduler_interval != "epoch")
    by_epoch = interval == "epoch" or (interval is None and context.scheduler_interval != "step")
    hook = context.logger
    if hook is None:
        hook = port.add_hook(Hook("lr_monitor", "log", note="Lightning refuses a LearningRateMonitor with "
                                                            "logger: false; here log() writes to no tracker"))
        if by_step:
            n, note = log_interval(context.trainer)
            port.attach(_STEP, "after", Attachment(hook.name, every(n, "update"), note))
    if by_epoch:
        _attach_once(port, _EPOCH, "after", Attachment(hook.name))
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
