"""Facts the compiler and the runtime share are read from one definition, and agree."""

from __future__ import annotations

import typing

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.compiler.loop import SCOPE_CHANNEL, callback_name, phase_order
from hookpipe.runtime.hooks.mixin import CHANNELS, PipelineHookChanelType
from hookpipe.runtime.plan.resolve import import_path


def test_every_builtin_class_declares_the_catalogs_effects() -> None:
    for hook_type in BUILTINS.values():
        implementation = import_path(hook_type.implementation)
        assert implementation.effects == hook_type.effects.to_json(), hook_type.name


def test_the_seed_channel_type_spells_the_loop_tables_channels() -> None:
    assert typing.get_args(PipelineHookChanelType) == CHANNELS == tuple(SCOPE_CHANNEL.values())
    assert CHANNELS == ("on_loop", "on_epoch", "on_step", "on_batch", "on_model_forward", "on_model_backward")


def test_phase_order_and_callbacks_come_from_the_scope_table() -> None:
    assert [f"{s}.{p}" for s, p in phase_order()] == [
        "loop.before", "epoch.before", "step.before", "batch.before", "forward.before", "forward.after",
        "backward.before", "backward.after", "batch.after", "step.after", "epoch.after", "loop.after",
    ]
    assert [callback_name(s, p) for s, p in phase_order()[4:6]] == ["on_model_forward_begin", "on_model_forward_end"]
