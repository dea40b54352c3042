"""RoboOrchard Lab hook configs (the JSON of their ``to_str()`` / ``to_dict()``) as a ``Port``.

The input is either a list of hook configs (a ``HookBasedTrainer``'s ``hooks``) or
an object with ``hooks`` and any of the trainer's other arguments that serialise:
``max_step``, ``max_epoch``, ``grad_clip`` (a ``GradientClippingHookConfig``) and
``validation`` (a ``ValidationHookConfig``; its callback is a Python object, so
it becomes ``project.evaluate``, which the named module must define). Each config
names its class in ``__config_type__`` (``module:Class``).

RoboOrchard Lab's own hooks become hookpipe's seed hooks of the same name
(``hookpipe.runtime.hooks.SaveCheckpointConfig``...), attached in each phase the
seed registers them on, in the trainer's registration order (clipping, the
optimizer, validation, then ``hooks`` in list order): that order is the order the
seed runs a channel's hooks in, and written order keeps it. A config already
naming hookpipe's copy of a seed class (``hookpipe.runtime.hooks.checkpoint:...``,
what a project that switched its imports serialises) is the same seed hook.

Validation stays the seed's ``ValidationHookConfig``, not the ``validation``
built-in: the seed calls ``eval_callback(model)`` where the built-in passes the
hook arguments, so the user's callback keeps working unchanged.
"""

from __future__ import annotations

from typing import Any

from hookpipe.compiler.catalog import SEED_HOOK_TYPES, HookType, seed_hook_type
from hookpipe.compiler.loop import every
from hookpipe.porting.model import Attachment, Call, Hook, Port
from hookpipe.porting.writer import pipe_name

#: The seed's hook config classes by class name.
SEED_CONFIGS: dict[str, HookType] = {f"{h.name}Config": h for h in SEED_HOOK_TYPES}
#: A phase of the catalog ("step.after") as the port's scope path and phase.
_PATHS = {"loop": ("loop",), "epoch": ("loop", "epoch"), "step": ("loop", "epoch", "step"),
          "batch": ("loop", "epoch", "step", "batch")}
_DROP = {"__config_type__", "class_type"}
_STEP = ("loop", "epoch", "step")


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
    clip = trainer.get("grad_clip")
    if isinstance(clip, dict):
        args = {k: v for k, v in {"mode": clip.get("clip_mode", "norm"), "max_norm": clip.get("max_norm"),
                                  "clip_value": clip.get("clip_value"), "norm_type": clip.get("norm_type")}.items()
                if v is not None}
        port.attach(_STEP, "after", Attachment(port.add_hook(Hook("clip", "grad_clip", args)).name))
    port.attach(_STEP, "after", Attachment(port.add_hook(Hook("optimize", "optimizer")).name))
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
        given = {key: trainer[key] for key in ("max_step", "max_epoch") if trainer.get(key) is not None}
        why = ("was not in the input" if not given else
               "is not a whole number of at least 1 in the input (" +
               ", ".join(f"{key} {value!r}"[:60] for key, value in given.items()) + ")")
        port.setting("max_epoch", 1, f"the run's length (HookBasedTrainer's max_step/max_epoch) {why}: set it")


def _validation(config: dict[str, Any], port: Port, note: str | None = None) -> None:
    """The seed's ``ValidationHookConfig`` (the trainer's ``validation`` or one in ``hooks``).

    Attached where the seed registers it: ``loop.before`` for ``eval_at_begin``, each
    step's and each epoch's end for the frequencies it has. The attachments repeat the
    frequencies (``every N steps``), which the hook also applies itself, so the firings
    are the seed's and ``explain --steps`` shows them.
    """
    args = {k: v for k, v in config.items() if k not in _DROP and k != "eval_callback"}
    given = config.get("eval_callback")
    what = "ValidationHookConfig's eval_callback, called as eval_callback(model)" + (
        f" (`{given}` in the input)" if isinstance(given, str) else "")
    step_freq, epoch_freq = _frequency(config, "step_eval_freq"), _frequency(config, "epoch_eval_freq")
    if step_freq is None and epoch_freq is None:
        note = note or ("RoboOrchard Lab refuses a ValidationHookConfig without a positive step_eval_freq or "
                        "epoch_eval_freq: set one")
    hook = port.add_hook(Hook("evaluate", "hookpipe.runtime.hooks.ValidationHookConfig",
                              {"eval_callback": port.need("evaluate", what), **args}, builtin=False, note=note))
    if config.get("eval_at_begin") is True:
        port.attach(("loop",), "before", Attachment(hook.name))
    if step_freq is not None:
        port.attach(_STEP, "after", Attachment(hook.name, every(step_freq, "step")))
    if epoch_freq is not None:
        port.attach(("loop", "epoch"), "after", Attachment(hook.name, every(epoch_freq, "epoch")))


def _frequency(config: dict[str, Any], key: str) -> int | None:
    value = config.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def seed_config(config_type: str) -> HookType | None:
    """The seed hook a ``__config_type__`` (``module:Class``) names: RoboOrchard Lab's class or hookpipe's copy.

    hookpipe's paths are those the catalog knows (``hookpipe.runtime.hooks.checkpoint``,
    ``hookpipe.runtime.hooks``, ``hookpipe.runtime``); RoboOrchard Lab's are any of its
    modules, as its configs serialise from where they are defined.
    """
    module, _, cls = config_type.partition(":")
    if module.startswith("robo_orchard_lab."):
        return SEED_CONFIGS.get(cls)
    return seed_hook_type(config_type) if cls else None


def _hook(config: dict[str, Any], port: Port) -> None:
    module, _, cls = str(config["__config_type__"]).partition(":")
    args = {k: v for k, v in config.items() if k not in _DROP}
    seed = seed_config(str(config["__config_type__"]))
    if seed is None:
        _custom(module, cls, args, port)
        return
    note = _subclass_note(config, seed)
    if seed.name == "ValidationHook":
        _validation(config, port, note)
        return
    if seed.saves_checkpoint or seed.name == "SaveModel":
        if args.get("save_root") is None:
            note = note or ("save_root is none: RoboOrchard Lab then saves where the Accelerator's "
                            "automatic_checkpoint_naming puts it; a .pipe run needs a folder here")
    if seed.name == "GradientClippingHook":
        _clip_in_hooks(args, port, note)
        return
    hook = port.add_hook(Hook(pipe_name(seed.name), f"hookpipe.runtime.hooks.{seed.name}Config", args,
                              builtin=False, note=note))
    for phase in seed.phases:
        scope, _, when = phase.partition(".")
        port.attach(_PATHS[scope], when, Attachment(hook.name))


def _subclass_note(config: dict[str, Any], seed: HookType) -> str | None:
    """A mark when ``class_type`` names a class of neither RoboOrchard Lab nor hookpipe (a project's subclass).

    The written config builds the seed's own hook, so a subclass's overrides
    (``ValidationHook.evaluate``...) would be lost without a word. The seed's own
    classes pass, whichever (``LossMovingAverageTrackerConfig`` builds a ``LossTracker``).
    """
    class_type = config.get("class_type")
    if not isinstance(class_type, str) or class_type.startswith(("robo_orchard_lab.", "hookpipe.runtime.")):
        return None
    return (f"class_type is {class_type}, not the seed's {seed.name}: write a config class whose class_type is it, "
            "and name that config here")


def _clip_in_hooks(args: dict[str, Any], port: Port, note: str | None) -> None:
    """A ``GradientClippingHookConfig`` in ``hooks``: before the optimizer, marked.

    The seed registers ``hooks`` after its optimizer hook, so there it clips after
    the update (gradients already used): its clipping never reaches an update. Written where the seed
    runs it, the file would not compile (HP005: clipping writes the gradients the
    optimizer consumes); before ``optimize`` it clips, which the seed's run did not.
    """
    hook = port.add_hook(Hook("clip", "hookpipe.runtime.hooks.GradientClippingHookConfig", args, builtin=False,
                              note=note or "in RoboOrchard Lab this hook in `hooks` runs after the optimizer step, "
                                           "so its clipping never reaches an update; here it clips before `optimize` "
                                           "(or pass it as the trainer's grad_clip)"))
    items = port.phases.setdefault((_STEP, "after"), [])
    at = next((i for i, item in enumerate(items) if isinstance(item, Attachment) and item.hook == "optimize"),
              len(items))
    items.insert(at, Attachment(hook.name))


def _custom(module: str, cls: str, args: dict[str, Any], port: Port) -> None:
    """A class the catalog does not know: a custom hook in ``step.after``, marked."""
    path = f"{module}.{cls}" if cls else module
    note = f"{cls or module} is not a RoboOrchard Lab hook: declare its effects, and attach it in every phase it " \
           "registers callbacks on"
    if module == "__main__":
        note += "; it was defined in a script (__main__): move it into a module and name that module here"
    hook = port.add_hook(Hook(pipe_name(cls.removesuffix("Config") or module), path, args, builtin=False,
                              note=note))
    port.attach(_STEP, "after", Attachment(hook.name))
