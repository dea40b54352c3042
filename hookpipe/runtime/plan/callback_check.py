"""Whether a custom hook class has the method an attachment calls, and what to rename when it does not.

``hookpipe run`` builds each hook and refuses an attachment whose instance lacks
the callback of its phase (``step.after`` calls ``on_step_end``). ``check
--resolve`` and ``lint --resolve`` ask the same of the class, without building
it, so a class written for another framework (Lightning's ``on_train_batch_end``)
is found before a job is queued. Both word it with :func:`missing_method`; the
hint maps the callback names of Lightning, MMEngine and Hugging Face to
hookpipe's.
"""

from __future__ import annotations

import difflib
from typing import Any

from hookpipe.compiler.loop import VALIDATION_CHANNEL, callback_name, phase_order

__all__ = ["FOREIGN_CALLBACKS", "class_may_lack", "missing_method", "rename_hint"]

#: Another framework's callback name -> (the framework, hookpipe's callback for the same moment).
FOREIGN_CALLBACKS: dict[str, tuple[str, str]] = {
    # Lightning's Callback
    "on_fit_start": ("Lightning", "on_loop_begin"),
    "on_train_start": ("Lightning", "on_loop_begin"),
    "on_train_end": ("Lightning", "on_loop_end"),
    "on_fit_end": ("Lightning", "on_loop_end"),
    "on_train_epoch_start": ("Lightning", "on_epoch_begin"),
    "on_train_epoch_end": ("Lightning", "on_epoch_end"),
    "on_train_batch_start": ("Lightning", "on_step_begin"),
    "on_train_batch_end": ("Lightning", "on_step_end"),
    "on_before_backward": ("Lightning", "on_model_backward_begin"),
    "on_after_backward": ("Lightning", "on_model_backward_end"),
    "on_validation_start": ("Lightning", "on_validation_begin"),
    "on_validation_epoch_start": ("Lightning", "on_validation_begin"),
    "on_validation_epoch_end": ("Lightning", "on_validation_end"),
    "on_validation_batch_start": ("Lightning", "on_validation_batch_begin"),
    # MMEngine's Hook
    "before_run": ("MMEngine", "on_loop_begin"),
    "before_train": ("MMEngine", "on_loop_begin"),
    "after_train": ("MMEngine", "on_loop_end"),
    "after_run": ("MMEngine", "on_loop_end"),
    "before_train_epoch": ("MMEngine", "on_epoch_begin"),
    "after_train_epoch": ("MMEngine", "on_epoch_end"),
    "before_train_iter": ("MMEngine", "on_step_begin"),
    "after_train_iter": ("MMEngine", "on_step_end"),
    "before_val_epoch": ("MMEngine", "on_validation_begin"),
    "after_val_epoch": ("MMEngine", "on_validation_end"),
    "before_val_iter": ("MMEngine", "on_validation_batch_begin"),
    "after_val_iter": ("MMEngine", "on_validation_batch_end"),
    # Hugging Face's TrainerCallback (its on_epoch_* and on_step_* are hookpipe's names already)
    "on_train_begin": ("Hugging Face", "on_loop_begin"),
}


#: hookpipe's callbacks and where each runs (``on_epoch_end`` -> ``epoch.after``).
_PHASES: dict[str, str] = {
    **{callback_name(scope, phase): f"{scope}.{phase}" for scope, phase in phase_order()},
    **{f"{channel}_{end}": (f"`validation NAME {{ {phase} }}`" if scope == "validation"
                            else f"`validation NAME {{ {scope} {{ {phase} }} }}`")
       for scope, channel in VALIDATION_CHANNEL.items()
       for end, phase in (("begin", "before"), ("end", "after"))},
}


def rename_hint(owner: Any, callback: str) -> str | None:
    """What to change so that ``owner`` (a class or an instance) runs at ``callback``, if something is close.

    Another framework's name for the same moment, a misspelling, or else
    hookpipe's callback of another phase (the hook is attached in the wrong one).
    A method of another phase is never offered as a rename: ``on_epoch_end`` is
    not a misspelt ``on_step_end``.

    Example:
        >>> class LitStyle:
        ...     def on_train_batch_end(self, args): ...
        >>> rename_hint(LitStyle, "on_step_end")
        "rename `on_train_batch_end` (Lightning's name for this moment) to `on_step_end`"
    """
    cls = owner if isinstance(owner, type) else type(owner)  # the class: no property of an instance is run
    methods = [name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name, None))]
    for name in methods:
        framework, ours = FOREIGN_CALLBACKS.get(name, ("", ""))
        if ours == callback:
            return f"rename `{name}` ({framework}'s name for this moment) to `{callback}`"
    elsewhere = [name for name in methods if name in _PHASES]
    close = difflib.get_close_matches(callback, [name for name in methods if name not in _PHASES], n=1, cutoff=0.8)
    if close:
        return f"rename `{close[0]}` to `{callback}`"
    if elsewhere:
        where = ", ".join(f"`{name}` ({_PHASES[name]})" for name in elsewhere)
        return f"it has {where}: attach it there, or define `{callback}(self, args)`"
    return None


def missing_method(owner: Any, callback: str) -> str | None:
    """``"<Class> has no method <callback>"`` when ``owner`` (a class or an instance) lacks it, else None."""
    if callable(getattr(owner, callback, None)):
        return None
    name = owner.__name__ if isinstance(owner, type) else type(owner).__name__
    return f"{name} has no method {callback}"


def class_may_lack(cls: Any) -> bool:
    """Whether reading ``cls`` tells what its instances have: a plain class without ``__getattr__``.

    A factory function, a RoboOrchard container (it runs the contexts its
    ``__init__`` registers) and a class that makes attributes up on access are only
    known once built; ``hookpipe run`` checks them then.
    """
    from hookpipe.runtime.hooks.mixin import PipelineHooks, PipelineHooksConfig

    if not isinstance(cls, type) or issubclass(cls, (PipelineHooks, PipelineHooksConfig)):
        return False
    return not hasattr(cls, "__getattr__") and not hasattr(cls, "hooks")
