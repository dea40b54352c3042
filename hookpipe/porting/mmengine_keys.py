"""Which keys of an MMEngine config the import translated, and its values read by type, so that none is
dropped or changed without a mark.

The Lightning import's rule (lightning_keys.py, ``Keys``) for MMEngine: each
translation ``take``s the keys it writes, and whatever no translation took is named
in a mark (``Spec.mark``): every argument of a hook the import translates, every key
of ``env_cfg`` and ``log_processor``, and every top-level key that MMEngine's
``Runner.from_cfg`` reads (``RUNNER_KEYS``; the other top-level names of a config
file are its variables, read only where a setting uses them).

A value is read by type (``integer``, ``boolean``, ``string``): one the config gives
as an expression the reader did not evaluate (``int('20')``,
``{{_base_.x}} * 4``: an ``Opaque``) or as a value of another type is named in the
mark with its source text, and MMEngine's default is written in its place, never
silently.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, TypeGuard

from hookpipe.porting.lightning_keys import Keys
from hookpipe.porting.pyconfig import Opaque

#: The top-level keys MMEngine's ``Runner`` reads (``Runner.from_cfg``, and ``self.cfg.get`` in ``Runner``).
RUNNER_KEYS = ("model", "work_dir", "train_dataloader", "val_dataloader", "test_dataloader", "train_cfg", "val_cfg",
               "test_cfg", "auto_scale_lr", "optim_wrapper", "param_scheduler", "val_evaluator", "test_evaluator",
               "default_hooks", "custom_hooks", "data_preprocessor", "load_from", "resume", "launcher", "env_cfg",
               "log_processor", "log_level", "visualizer", "default_scope", "randomness", "experiment_name",
               "model_wrapper_cfg", "sync_bn", "find_unused_parameters", "activation_checkpointing",
               "efficient_conv_bn_eval", "compile", "strategy")
#: Top-level keys that change nothing ``fit`` trains or the file says: testing (never run by training), console
#: output, the registry scope (the factories build the objects), the name of MMEngine's own log folder.
RUNNER_NOTHING_TO_DO = ("test_dataloader", "test_cfg", "test_evaluator", "log_level", "default_scope",
                        "experiment_name")
#: Top-level keys at values where the ``.pipe`` does what MMEngine does.
RUNNER_SETTLED: dict[str, tuple[Any, ...]] = {
    "launcher": ("none",), "find_unused_parameters": (False,), "compile": (False,), "resume": (False,),
}
#: Why a top-level key has no translation (terse: a mark past 240 characters goes on over comment lines).
RUNNER_WHY = {
    "model_wrapper_cfg": "accelerate wraps the model; hookpipe sets no DDP options",
    "find_unused_parameters": "accelerate wraps the model; hookpipe sets no DDP options",
    "sync_bn": "convert the model in its factory",
    "data_preprocessor": "the model factory builds it",
    "activation_checkpointing": "set it up in the model factory",
    "efficient_conv_bn_eval": "set it up in the model factory",
    "compile": "compile the model in its factory",
    "launcher": "the process count is the run's: hookpipe run FILE --processes N",
    "strategy": "DeepSpeed and FSDP run through an accelerate config",
}

#: ``env_cfg``: keys at values where the ``.pipe`` does what MMEngine does, and why the others have no translation.
ENV_SETTLED: dict[str, tuple[Any, ...]] = {
    "cudnn_benchmark": (False,), "dist_cfg": ({"backend": "nccl"},),
    "mp_cfg": ({"mp_start_method": "fork", "opencv_num_threads": 0},),
}
ENV_WHY = {
    "cudnn_benchmark": "set torch.backends.cudnn.benchmark = True in the model factory",
    "mp_cfg": "set the workers' start method and OpenCV threads in the loader factory",
    "dist_cfg": "accelerate chooses the process group",
}

#: ``log_processor``: how MMEngine smooths and prints what it logs.
LOG_PROCESSOR_NOTHING_TO_DO = ("by_epoch", "num_digits", "log_with_hierarchy")
LOG_PROCESSOR_SETTLED: dict[str, tuple[Any, ...]] = {"window_size": (10,), "custom_cfg": (None, [])}
LOG_PROCESSOR_WHY = {
    "window_size": "log() records each logged step's values, not a mean over a window",
    "custom_cfg": "log() records each logged step's values",
    "mean_pattern": "log() records each logged step's values",
}

#: Per hook type: arguments that change nothing the file says (they only print, or only load).
NOTHING_TO_DO: dict[str, tuple[str, ...]] = {
    "LoggerHook": ("log_metric_by_epoch", "interval_exp_name"),
    "EMAHook": ("strict_load",),
    "EarlyStoppingHook": ("verbose",),
}
#: Per hook type: arguments at values where the ``.pipe`` does what MMEngine does.
SETTLED: dict[str, dict[str, tuple[Any, ...]]] = {
    "CheckpointHook": {"save_optimizer": (True,), "save_param_scheduler": (True,), "save_begin": (0,)},
    "LoggerHook": {"ignore_last": (True,), "keep_local": (True,)},
}
_WHOLE_STATE = "checkpoint saves the whole training state"
#: Per hook type: why an argument has no translation.
WHY: dict[str, dict[str, str]] = {
    "CheckpointHook": {
        "save_optimizer": _WHOLE_STATE, "save_param_scheduler": _WHOLE_STATE,
        "filename_tmpl": "checkpoints are step-N folders",
        "published_keys": "nothing is published after training",
        "backend_args": "checkpoint writes to a local folder",
        "file_client_args": "checkpoint writes to a local folder",
    },
    "LoggerHook": {
        "out_dir": "logs go to the trainer's log_dir", "keep_local": "logs go to the trainer's log_dir",
        "ignore_last": "in an IterBasedTrainLoop log() logs every N steps and at the run's end",
    },
    "EarlyStoppingHook": {"stopping_threshold": "early_stop has no threshold that stops at once"},
}

#: How much of a value a mark shows.
_SHOWN = 60


def show(value: Any) -> str:
    """``value`` as the config writes it: an expression the reader did not evaluate as its source text."""
    if isinstance(value, Opaque):
        return value.source
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {show(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(show(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def ordinal(n: int) -> str:
    """``n`` as an English ordinal, for a mark: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd...

    Example:
        >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 102, 111)]
        ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '102nd', '111th']
    """
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Spec(Keys):
    """A dict of an MMEngine config (a hook's spec, ``train_cfg``, ``env_cfg``...) read by type, keys accounted for.

    ``where`` names it in the marks (``CheckpointHook``, ``train_cfg``). The notes
    (``notes``) collect what a typed read could not take; ``mark`` joins them with
    the keys no translation took.
    """

    def __init__(self, values: Any, where: str, settled: Mapping[str, tuple[Any, ...]] | None = None,
                 why: Mapping[str, str] | None = None, nothing: Iterable[str] = ()) -> None:
        super().__init__(values, settled, why)
        self.where = where
        self.notes: list[str] = []
        self.take_all(nothing)

    def show(self, value: Any) -> str:
        text = show(value)
        return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."

    def typed(self, key: str, ok: Any, what: str, default: Any, instead: str | None = None) -> Any:
        """``key``'s value when ``ok(value)``; else ``default``, with a note naming the value as the config wrote it.

        Absent (or ``None`` where ``default`` is ``None``): ``default``, without a note.
        ``instead`` says what the file has in its place (default: MMEngine's default).
        """
        if key not in self:
            self.taken.add(key)
            return default
        value = self.take(key)
        if ok(value) or (value is None and default is None):
            return value
        if instead is None:
            instead = "left out" if default is None else f"MMEngine's default {show(default)} written"
        self.note(f"{self.where}.{key} {self.show(value)} is not {what}: {instead}; set it by hand")
        return default

    def integer(self, key: str, default: Any, instead: str | None = None) -> Any:
        return self.typed(key, is_int, "a literal integer", default, instead)

    def number(self, key: str, default: Any, instead: str | None = None) -> Any:
        return self.typed(key, is_number, "a literal number", default, instead)

    def boolean(self, key: str, default: Any, instead: str | None = None) -> Any:
        return self.typed(key, lambda v: isinstance(v, bool), "True or False", default, instead)

    def string(self, key: str, default: Any, instead: str | None = None) -> Any:
        return self.typed(key, lambda v: isinstance(v, str), "a literal string", default, instead)

    def note(self, text: str | None) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def mark(self, *before: str | None) -> str | None:
        """The line's mark: ``before``, the notes, then the keys no translation took; None when there is nothing."""
        left = self.untranslated(f"{self.where} keys not translated")
        return "; ".join(n for n in (*before, *self.notes, left) if n) or None
