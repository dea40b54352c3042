"""RoboOrchard Lab hook configs (the JSON of their ``to_str()`` / ``to_dict()``) as a ``Port``.

The input is either a list of hook configs (a ``HookBasedTrainer``'s ``hooks``) or
an object with ``hooks`` and any of the trainer's other arguments that serialise:
``max_step``, ``max_epoch``, ``grad_clip`` (a ``GradientClippingHookConfig``) and
``validation`` (a ``ValidationHookConfig``; its callback is a Python object, so
it is a marked placeholder). Each config names its class in ``__config_type__``
(``module:Class``).

RoboOrchard Lab's own hooks become hookpipe's seed hooks of the same name
(``hookpipe.runtime.hooks.SaveCheckpointConfig``...), attached in each phase the
seed registers them on, in the trainer's registration order (clipping, the
optimizer, validation, then ``hooks`` in list order): that order is the order the
seed runs a channel's hooks in, and written order keeps it.
"""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.catalog import SEED_HOOK_TYPES, HookType
from hookpipe.porting.model import Attachment, Call, Hook, Port
from hookpipe.porting.writer import pipe_name

#: The seed's hook config classes by class name.
SEED_CONFIGS: dict[str, HookType] = {f"{h.name}Config": h for h in SEED_HOOK_TYPES}
#: A phase of the catalog ("step.after") as the port's scope path and phase.
_PATHS = {"loop": ("loop",), "epoch": ("loop", "epoch"), "step": ("loop", "epoch", "step"),
          "batch": ("loop", "epoch", "step", "batch")}
_DROP = {"__config_type__", "class_type"}


class RoboInputError(ValueError):
    """The JSON is not RoboOrchard Lab hook configs; the message says what was expected."""


def port_robo(data: Any, name: str, source: str, module: str | None = None) -> Port:
    """The ``Port`` of RoboOrchard Lab hook configs read from JSON."""
    if isinstance(data, list):
        trainer: dict[str, Any] = {"hooks": data}
    elif isinstance(data, dict) and "__config_type__" in data:
        trainer = {"hooks": [data]}
    elif isinstance(data, dict) and isinstance(data.get("hooks", []), list):
        trainer = data
    else:
        raise RoboInputError("expected a list of hook configs, one hook config, or an object with a `hooks` list")
    port = Port(name=name, source=source, kind="robo", module=module)
    _length(trainer, port)
    for key, what in (("model", "the model"), ("dataloader", "the training DataLoader"),
                      ("optimizer", "the optimizer"), ("batch_processor", "the batch processor")):
        port.setting(key, Call(port.need(key, f"{what} (the HookBasedTrainer's `{key}`)")))
    step = ("loop", "epoch", "step")
    clip = trainer.get("grad_clip")
    if isinstance(clip, dict):
        args = {k: v for k, v in {"mode": clip.get("clip_mode", "norm"), "max_norm": clip.get("max_norm"),
                                  "clip_value": clip.get("clip_value"), "norm_type": clip.get("norm_type")}.items()
                if v is not None}
        port.attach(step, "after", Attachment(port.add_hook(Hook("clip", "grad_clip", args)).name))
    port.attach(step, "after", Attachment(port.add_hook(Hook("optimize", "optimizer")).name))
    validation = trainer.get("validation")
    if isinstance(validation, dict):
        _validation(validation, port)
    for index, config in enumerate(trainer.get("hooks") or []):
        if not isinstance(config, dict) or not isinstance(config.get("__config_type__"), str):
            raise RoboInputError(f"hooks[{index}] has no `__config_type__` (serialise configs with to_str())")
        _hook(config, port)
    return port


def _length(trainer: dict[str, Any], port: Port) -> None:
    found = False
    for key in ("max_step", "max_epoch"):
        value = trainer.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            port.setting(key, value)
            found = True
    if not found:
        port.setting("max_epoch", 1, "the run's length (HookBasedTrainer's max_step/max_epoch) was not in the "
                                     "input: set it")


def _validation(config: dict[str, Any], port: Port) -> None:
    hook = port.add_hook(Hook("evaluate", "validation", {
        "callback": port.need("evaluate", "ValidationHookConfig's eval_callback")}))
    step_freq, epoch_freq = config.get("step_eval_freq"), config.get("epoch_eval_freq")
    if isinstance(step_freq, int) and step_freq >= 1:
        port.attach(("loop", "epoch", "step"), "after", Attachment(hook.name, _every(step_freq, "step")))
    if isinstance(epoch_freq, int) and epoch_freq >= 1:
        port.attach(("loop", "epoch"), "after", Attachment(hook.name, _every(epoch_freq, "epoch")))


def _every(n: int, unit: str) -> str:
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


def _hook(config: dict[str, Any], port: Port) -> None:
    module, _, cls = str(config["__config_type__"]).partition(":")
    args = {k: v for k, v in config.items() if k not in _DROP}
    seed = SEED_CONFIGS.get(cls) if module.startswith("robo_orchard_lab.") else None
    if seed is not None:
        note = None
        if seed.saves_checkpoint or seed.name == "SaveModel":
            if args.get("save_root") is None:
                note = ("save_root is none: RoboOrchard Lab then saves where the Accelerator's "
                        "automatic_checkpoint_naming puts it; a .pipe run needs a folder here")
        hook = port.add_hook(Hook(pipe_name(seed.name), f"hookpipe.runtime.hooks.{cls}", args, builtin=False,
                                  note=note))
        for phase in seed.phases:
            scope, _, when = phase.partition(".")
            port.attach(_PATHS[scope], when, Attachment(hook.name))
        return
    path = f"{module}.{cls}" if cls else module
    note = f"{cls or module} is not a RoboOrchard Lab hook: declare its effects, and attach it in every phase it " \
           "registers callbacks on"
    if module == "__main__":
        note += "; it was defined in a script (__main__): move it into a module and name that module here"
    hook = port.add_hook(Hook(pipe_name(cls.removesuffix("Config") or module), path, args, builtin=False,
                              note=note))
    port.attach(("loop", "epoch", "step"), "after", Attachment(hook.name))
