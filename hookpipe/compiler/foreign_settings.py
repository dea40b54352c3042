"""Trainer settings of other trainers, and what a ``.pipe`` file says instead.

People arrive with Lightning's and MMEngine's names in their fingers. "Did you
mean ``max_step``?" for ``max_steps`` is right about the spelling and wrong about the
meaning (Lightning counts optimizer steps, hookpipe counts batches), and for
``accumulate_grad_batches`` or ``gradient_clip_val`` a list of accepted keys says
nothing about where clipping went. Each name here gets a help line that says what
it becomes.
"""

from __future__ import annotations

__all__ = ["FOREIGN_SETTINGS", "foreign_help"]

_CLIP = ("clipping is a hook in hookpipe: `hook clip = grad_clip(max_norm = 1.0)` (mode = \"value\" for "
         "clip_value), attached before the optimizer: `clip -> optimize`")
_VALIDATE = ("validation is a hook: `hook evaluate = validation(callback = ...)`, attached where it runs, e.g. "
             "`evaluate every 500 batches` in `step { after { } }` (the epoch's batches, as Lightning's "
             "val_check_interval counts them; `every 500 steps` counts the run's) or `evaluate every 2 epochs` in "
             "`epoch { after { } }`")
_DEVICES = ("hookpipe takes its processes from the launcher (`hookpipe run --processes N`, accelerate launch, "
            "torchrun); `cpu = true` runs on the CPU")

#: A setting's name elsewhere -> (whose, what to write in a hookpipe ``trainer`` block or file).
FOREIGN_SETTINGS: dict[str, tuple[str, str]] = {
    "max_steps": ("Lightning", "counts optimizer steps, hookpipe's `max_step` counts batches: under "
                  "`grad_accumulation = G` write about N x G (each epoch's end also closes a window), or bound "
                  "the run with `max_epoch`"),
    "max_iters": ("MMEngine", "write `max_step` (it counts batches: G per update under `grad_accumulation = G`)"),
    "max_epochs": ("Lightning and MMEngine", "write `max_epoch`"),
    "accumulate_grad_batches": ("Lightning", "write `grad_accumulation = N`"),
    "accumulative_counts": ("MMEngine", "write `grad_accumulation = N`"),
    "gradient_clip_val": ("Lightning", _CLIP),
    "gradient_clip_algorithm": ("Lightning", _CLIP),
    "val_check_interval": ("Lightning", _VALIDATE),
    "check_val_every_n_epoch": ("Lightning", _VALIDATE),
    "val_interval": ("MMEngine", _VALIDATE),
    "precision": ("Lightning", "write `mixed_precision = \"bf16\"` (or \"fp16\", \"no\")"),
    "devices": ("Lightning", _DEVICES),
    "accelerator": ("Lightning", _DEVICES),
    "strategy": ("Lightning", _DEVICES),
    "num_nodes": ("Lightning", _DEVICES),
    "num_sanity_val_steps": ("Lightning", "write `sanity_val_batches = N`"),
    "log_every_n_steps": ("Lightning", "logging is a hook: `hook record = log()` attached `every N updates` in "
                          "`step { after { } }` (Lightning counts optimizer steps), and after each validation"),
    "logger": ("Lightning", "write `log_with = [\"csv\"]` (or \"tensorboard\", \"wandb\", ...) and `log_dir`"),
    "default_root_dir": ("Lightning", "logs go to `log_dir`; checkpoints where the `checkpoint(dir = ...)` hook says"),
    "enable_progress_bar": ("Lightning", "write `progress = false`"),
    "callbacks": ("Lightning", "callbacks are hooks: declare each with `hook NAME = ...` and attach it in the phase "
                  "it runs in"),
}


def foreign_help(name: str) -> str | None:
    """The help line for another trainer's setting ``name``, or None when it is not one."""
    found = FOREIGN_SETTINGS.get(name)
    if found is None:
        return None
    whose, said = found
    tools = " or ".join(f"`hookpipe import {tool.lower()}`" for tool in whose.split(" and "))
    return f"{whose}'s `{name}`: {said} ({tools} converts a whole config)"
