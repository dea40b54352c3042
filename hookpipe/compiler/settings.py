"""The ``trainer { ... }`` block's schema: run settings and factories."""

from __future__ import annotations

import collections.abc
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ImportString

#: A value naming a Python object: ``{"$ref": ...}`` / ``{"$call": ...}`` or an import-path string.
ObjectRef = str | dict[str, Any]
_OBJECT_REF_MEMBERS = frozenset(typing.get_args(ObjectRef))


def can_name_code(annotation: Any) -> bool:
    """Whether a field typed ``annotation`` may turn a string into code (import it, call it).

    ``ObjectRef`` anywhere in a union (``ObjectRef | None`` is flattened to
    ``str | dict | None``, so its members are what is looked for), a class
    (``type[...]``, RoboOrchard's ``ClassType``), a callable (``Callable``,
    ``CallableType``) or pydantic's ``ImportString``, also inside ``Annotated``,
    lists and tables. ``--set`` refuses such fields: code is named in the reviewed file.

    Example:
        >>> can_name_code(ObjectRef | None), can_name_code(int | None), can_name_code(list[type])
        (True, False, True)
    """
    seen: set[int] = set()
    todo = [annotation]
    while todo:
        tp = todo.pop()
        if id(tp) in seen:
            continue
        seen.add(id(tp))
        if tp is type or tp is ImportString or tp is collections.abc.Callable or tp is typing.Callable:
            return True
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            import_string: type = typing.cast(type, ImportString)  # a class at run time, generic to mypy
            if any(isinstance(meta, import_string) or meta is ImportString for meta in tp.__metadata__):
                return True
            todo.append(args[0])
            continue
        if origin in (type, collections.abc.Callable, typing.Callable):
            return True
        if args and _OBJECT_REF_MEMBERS <= set(args):
            return True
        todo.extend(a for a in args if a is not Ellipsis and not isinstance(a, (list, str, int)))
    return False

#: Trackers ``log_with`` accepts: hookpipe's CSV writer and accelerate's trackers, with
#: the package each needs (checked when the run starts, so ``check`` imports nothing).
TRACKER_PACKAGES: dict[str, str | None] = {
    "csv": None,
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "comet_ml": "comet_ml",
    "aim": "aim",
    "mlflow": "mlflow",
    "clearml": "clearml",
    "dvclive": "dvclive",
    "swanlab": "swanlab",
    "trackio": "trackio",
}


def missing_tracker_package(name: str) -> str | None:
    """The package tracker ``name`` needs when it is not installed, else None.

    Asked by ``run`` and ``check --resolve`` (both about this environment), never by
    ``check`` or ``lint``; ``find_spec`` of a top-level name imports nothing.
    """
    import importlib.util

    package = TRACKER_PACKAGES.get(name)
    return package if package is not None and importlib.util.find_spec(package) is None else None


def tracker_problem(name: str) -> str | None:
    """Why tracker ``name`` cannot start here (its package is missing), or None: what run and check --resolve say."""
    package = missing_tracker_package(name)
    if package is None:
        return None
    return (f"the {name!r} tracker needs the {package!r} package, which is not installed; "
            f"install it (pip install {package}) or remove {name!r} from log_with")


Tracker = Literal[
    "csv", "tensorboard", "wandb", "comet_ml", "aim", "mlflow", "clearml", "dvclive", "swanlab", "trackio"
]


def _not_a_bool(value: Any) -> Any:
    """``seed = true`` is a mistake, not seed 1 (pydantic's lax ints take booleans)."""
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {str(value).lower()}")
    return value


#: An integer setting: a whole number (``1e3`` is 1000), never a boolean.
Count = Annotated[int, BeforeValidator(_not_a_bool)]

#: The largest ``seed``: accelerate's ``set_seed`` seeds NumPy, whose seeds are 32-bit
#: (``Seed must be between 0 and 2**32 - 1`` otherwise, after the run has started).
MAX_SEED = 2**32 - 1
#: The most torch threads a process may ask for: OpenMP starts each one, and a count far
#: past the machine's (``threads = 100000``) ends the process with SIGSEGV, not an error.
MAX_THREADS = 1024


class TrainerSettings(BaseModel):
    """Run settings. Factories are optional for check/lint; ``run`` requires them."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_step: Count | None = Field(default=None, ge=1)
    max_epoch: Count | None = Field(default=None, ge=1)
    grad_accumulation: Count = Field(default=1, ge=1)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    #: The random seed (Python, NumPy, torch, and the data order): 0 to 2**32 - 1, NumPy's range.
    seed: Count | None = Field(default=None, ge=0, le=MAX_SEED)
    cpu: bool = False
    #: torch threads per process; None: the cores divided among the processes (runtime/distributed/threads.py).
    #: At most :data:`MAX_THREADS`: torch takes any count and crashes (SIGSEGV) on one far past the machine's.
    threads: Count | None = Field(default=None, ge=1, le=MAX_THREADS)
    model: ObjectRef | None = None
    dataloader: ObjectRef | None = None
    optimizer: ObjectRef | None = None
    lr_scheduler: ObjectRef | None = None
    batch_processor: ObjectRef | None = None
    #: Trackers the ``log`` hook writes to (accelerate's tracking API). A default, not a
    #: ``default_factory``: pydantic copies a mutable default per instance anyway, and a
    #: factory costs an ``inspect.signature(list)`` (4 ms) when the schema is built.
    log_with: list[Tracker] = Field(default=[])
    #: Folder of the tracker files (TensorBoard events, ``metrics.csv``).
    log_dir: str = Field(default="runs/logs", min_length=1)
    #: A progress bar on a terminal, a few plain lines otherwise (main process only).
    progress: bool = True
    #: Batches each validation hook evaluates before the first training step, to check what
    #: monitors will read (Lightning's ``num_sanity_val_steps``); 0 turns it off.
    sanity_val_batches: Count = Field(default=2, ge=0)


#: Keys that name factories, resolved (imported) only by ``run``/``check --resolve``.
FACTORY_KEYS: tuple[str, ...] = ("model", "dataloader", "optimizer", "lr_scheduler", "batch_processor")
#: The factories ``run`` cannot do without (a run without a scheduler keeps its learning rate).
REQUIRED_FACTORIES: tuple[str, ...] = tuple(k for k in FACTORY_KEYS if k != "lr_scheduler")


#: The settings that bound a run: at least one must be set.
RUN_LENGTH_KEYS: tuple[str, ...] = ("max_step", "max_epoch")


def has_run_length(max_step: int | None, max_epoch: int | None) -> bool:
    """Whether a run knows when to stop: at least one of ``max_step``/``max_epoch`` is set."""
    return max_step is not None or max_epoch is not None


def check_run_length(max_step: int | None, max_epoch: int | None) -> None:
    """The seed trainer's check of its limits, with its wording (a ``ValueError``).

    Example:
        >>> check_run_length(None, None)
        Traceback (most recent call last):
        ...
        ValueError: Either `max_step` or `max_epoch` must be specified.
    """
    if not has_run_length(max_step, max_epoch):
        raise ValueError("Either `max_step` or `max_epoch` must be specified.")
    if max_step is not None and max_step < 1:
        raise ValueError(f"max_step = {max_step} < 1 is not allowed")
    if max_epoch is not None and max_epoch < 1:
        raise ValueError(f"max_epoch = {max_epoch} < 1 is not allowed")
