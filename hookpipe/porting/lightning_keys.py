"""Which keys of a LightningCLI mapping the import translated, so that none is dropped without a mark.

An unmarked line of an imported file promises that what it came from was translated
faithfully. A translation that reads only the keys it knows drops every other one
without a word (an argument the import never learnt, one a later Lightning adds). So
each translation ``take``s the keys it writes, or marks itself, and whatever no
translation took is named in a mark (``Keys.untranslated``). One rule, for the
trainer, each callback and each logger alike, rather than a list of special cases.

A key at ``null``, or at a value where the ``.pipe`` already does what Lightning does
(``settled``), is not marked: ``--print_config`` writes every argument, mostly at its
default, and a mark on each would hide the few that matter.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

#: Trainer keys that change neither what trains nor what the file says: console output, or
#: what Lightning logs about itself, or the test/predict stages that ``fit`` never runs.
TRAINER_NOTHING_TO_DO = ("inference_mode", "enable_model_summary", "limit_test_batches", "limit_predict_batches",
                         "enable_autolog_hparams", "suggest_integrations")

#: Trainer keys at values where hookpipe does what Lightning does (any other value is marked).
TRAINER_SETTLED: dict[str, tuple[Any, ...]] = {
    "use_distributed_sampler": (True,), "detect_anomaly": (False,), "barebones": (False,),
    "sync_batchnorm": (False,), "reload_dataloaders_every_n_epochs": (0,),
}

#: Why a trainer key has no translation (said in its mark, tersely: a mark past 240 characters goes
#: on over comment lines; docs/import.md says more). The others are marked "not translated" alone.
TRAINER_WHY = {
    "sync_batchnorm": "convert the model in its factory",
    "detect_anomaly": "set it in the model factory",
    "use_distributed_sampler": "accelerate shards the loader",
    "reload_dataloaders_every_n_epochs": "the loader is built once",
    "val_check_interval": "validation runs every N batches, steps or epochs",
}

#: Per callback (and logger) class: init_args at values where the ``.pipe`` does what Lightning does.
SETTLED: dict[str, dict[str, tuple[Any, ...]]] = {
    "ModelCheckpoint": {"save_weights_only": (False,), "save_on_exception": (False,),
                        "auto_insert_metric_name": (True,), "enable_version_counter": (True,)},
    "EarlyStopping": {"strict": (True,)},
    "LearningRateMonitor": {"log_momentum": (False,), "log_weight_decay": (False,)},
    "StochasticWeightAveraging": {"device": ("cpu",)},
    "TensorBoardLogger": {"name": ("lightning_logs",), "log_graph": (False,), "default_hp_metric": (True,),
                          "prefix": ("",)},
    "CSVLogger": {"name": ("lightning_logs",), "prefix": ("",), "flush_logs_every_n_steps": (100,)},
}

_NO_THRESHOLD = "early_stop has no threshold"
_LR_ONLY = "log() records the lr only"

#: Per callback class: why an init_arg has no translation (as tersely as ``TRAINER_WHY``).
WHY: dict[str, dict[str, str]] = {
    "ModelCheckpoint": {
        "filename": "checkpoints are step-N folders", "auto_insert_metric_name": "checkpoints are step-N folders",
        "enable_version_counter": "checkpoints are step-N folders",
        "save_weights_only": "checkpoint saves the whole training state",
        "save_on_exception": "hookpipe saves on SIGTERM or SIGINT, not on an error",
        "train_time_interval": "checkpoint has no time trigger",
    },
    "EarlyStopping": {
        "stopping_threshold": _NO_THRESHOLD, "divergence_threshold": _NO_THRESHOLD,
        "strict": "a missing metric fails here",
        "check_on_train_epoch_end": "judged once per validation here",
        "min_delta": "early_stop takes min_delta >= 0",
    },
    "LearningRateMonitor": {
        "log_momentum": _LR_ONLY, "log_weight_decay": _LR_ONLY, "log_key_prefix": "log() names it lr/GROUP",
    },
}

#: How much of a value a mark shows (a mark is one line of at most 240 characters).
_SHOWN = 40


class Keys(dict[str, Any]):
    """A LightningCLI mapping (the trainer, a class's ``init_args``) that records which keys were translated.

    It reads as the dict it is (``get`` takes nothing); ``take`` reads a key and accounts
    for it: the caller writes it, or marks it itself.
    """

    def __init__(self, values: Any, settled: Mapping[str, tuple[Any, ...]] | None = None,
                 why: Mapping[str, str] | None = None) -> None:
        super().__init__(values if isinstance(values, dict) else {})
        self.taken: set[str] = set()
        self.settled = settled or {}
        self.why = why or {}

    def get(self, key: str, default: Any = None) -> Any:
        """``key``'s value (``default`` when absent), not accounted for."""
        return super().get(key, default)

    def take(self, key: str, default: Any = None) -> Any:
        """``key``'s value (``default`` when absent), accounted for."""
        self.taken.add(key)
        return self.get(key, default)

    def take_all(self, keys: Iterable[str]) -> None:
        self.taken.update(keys)

    def show(self, value: Any) -> str:
        """``value`` as a mark shows it (``shown``; another format's mapping may show its values its own way)."""
        return shown(value)

    def left(self, only: Iterable[str] | None = None) -> list[str]:
        """The keys no translation took, less those at ``null`` or at a settled value; in the config's order."""
        wanted = None if only is None else set(only)
        return [key for key, value in self.items()
                if key not in self.taken and (wanted is None or key in wanted)
                and value is not None and not _among(value, self.settled.get(key, ()))]

    def untranslated(self, what: str = "not translated", only: Iterable[str] | None = None) -> str | None:
        """A mark naming each key left, with its value, and why where known; None when none is left.

        ``what`` begins it (``trainer keys not translated``). Keys without a known reason
        come first, then each reason once, after the keys it explains (terse: a mark past
        240 characters goes on over comment lines below its line). The keys named are
        taken: each is named in one mark, on the line the caller chose.
        """
        left = self.left(only)
        self.taken.update(left)
        if not left:
            return None
        groups: dict[str, list[str]] = {}
        for key in left:
            groups.setdefault(self.why.get(key, ""), []).append(f"{key} {self.show(self[key])}")
        plain = groups.pop("", [])
        reasons = [f"{', '.join(named)} ({why})" for why, named in groups.items()]
        return f"{what}: " + ", ".join(plain + reasons)


def shown(value: Any) -> str:
    """``value`` as a mark shows it: YAML's ``true``/``false``, other values as Python writes them, cut short."""
    text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


def _among(value: Any, settled: tuple[Any, ...]) -> bool:
    """``value`` is one of ``settled``, of the same type (``true`` is not ``1``)."""
    return any(type(value) is type(s) and value == s for s in settled)


def join(*notes: str | None) -> str | None:
    """The notes given, in order, as one mark; None when there are none."""
    return "; ".join(n for n in notes if n) or None
