"""RoboOrchard Lab's ``pipeline.hooks.mixin``: the hook containers ``PipelineHooks`` and its config.

The API matches robo_orchard_lab's ``pipeline.hooks.mixin``: six channels
(``on_loop``, ``on_epoch``, ``on_step``, ``on_batch``, ``on_model_forward``,
``on_model_backward``), each a robo_orchard_core ``HookContextChannel`` whose
contexts run ``before``/``after`` in registration order; containers merge with
``+=``; ``PipelineHooksConfig`` builds one from a serialisable config.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Callable, Iterable, Literal, TypeAlias

from robo_orchard_core.utils.config import ClassConfig, ClassInitFromConfigMixin, ClassType
from robo_orchard_core.utils.hook import HookContext, HookContextChannel, RemoveableHandle
from robo_orchard_core.utils.string import add_indentation
from typing_extensions import Self, TypeVar

from hookpipe.compiler.loop import SCOPE_CHANNEL
from hookpipe.runtime.args import ModelOutput, ModelOutputHasLossKeys, PipelineHookArgs
from hookpipe.runtime.dispatch.channels import Channel, PlanChannel, PlanScope, SeedScope

__all__ = [
    "CHANNELS",
    "SCOPE_CHANNEL",
    "ClassType",
    "HookContext",
    "ModelOutput",
    "ModelOutputHasLossKeys",
    "PipelineHookArgs",
    "PipelineHookChanelType",
    "PipelineHooks",
    "PipelineHooksConfig",
]

PipelineHookChanelType: TypeAlias = Literal[
    "on_loop",
    "on_epoch",
    "on_step",
    "on_batch",
    "on_model_forward",
    "on_model_backward",
]

#: The channels, outermost first: the loop's scopes (one table, in hookpipe.compiler.loop).
#: ``PipelineHookChanelType`` spells the same names for type checkers (the seed's
#: spelling of the type name is kept); a test keeps the two equal.
CHANNELS: tuple[str, ...] = tuple(SCOPE_CHANNEL.values())


class PipelineHooks(ClassInitFromConfigMixin):
    """A set of hook contexts, one channel per loop scope.

    Subclasses register their callbacks in ``__init__`` (taking their config, as in
    the seed) with :meth:`register_hook`.

    Example:
        >>> hooks = PipelineHooks()
        >>> _ = hooks.register_hook("on_step", HookContext.from_callable(after=print))
    """

    def __init__(self) -> None:
        self.hooks: dict[str, HookContextChannel[PipelineHookArgs]] = {c: Channel(c) for c in CHANNELS}

    def begin(self, channel: PipelineHookChanelType, arg: PipelineHookArgs) -> AbstractContextManager[PipelineHookArgs]:
        """Enter ``channel``: run its ``before`` callbacks now and its ``after`` ones on exit.

        The channel's ``begin(arg)``; for hookpipe's own two channel classes (exactly
        those) the scope their ``begin`` returns is made here: a batch processor
        with its own ``__call__`` opens two scopes every step, and one Python call
        less each shows in a small model's step time.
        """
        ch = self.hooks[channel]
        kind = type(ch)
        if kind is Channel:
            return SeedScope((ch, arg))  # Channel.begin(arg)
        if kind is PlanChannel:
            return PlanScope((ch, arg, False))  # PlanChannel.begin(arg)
        return ch.begin(arg)

    def register_hook(
        self, channel: PipelineHookChanelType, hook: HookContext[PipelineHookArgs]
    ) -> RemoveableHandle[Callable[[], None]]:
        """Append a context to ``channel``; the handle removes it again."""
        return self.hooks[channel].register(hook)

    def register_pipeline_hooks(self, hooks: "PipelineHooks") -> RemoveableHandle[Callable[[], None]]:
        """Append every context of ``hooks``, channel by channel, keeping their order."""
        handles = [self.hooks[c].register_hook_channel(ch) for c, ch in hooks.hooks.items()]

        def remove() -> None:
            for handle in handles:
                handle()

        return RemoveableHandle(remove)

    def __iadd__(self, other: "PipelineHooks") -> Self:
        self.register_pipeline_hooks(other)
        return self

    def unregister_all(self) -> None:
        for channel in self.hooks.values():
            channel.unregister_all()

    @classmethod
    def from_hooks(
        cls,
        hooks: "PipelineHooks | PipelineHooksConfig | Iterable[PipelineHooks | PipelineHooksConfig] | None",
    ) -> Self:
        """One container holding ``hooks`` (instances or configs) in the given order."""
        ret = cls()
        if hooks is None:
            return ret
        items = [hooks] if isinstance(hooks, (PipelineHooks, PipelineHooksConfig)) else list(hooks)
        for item in items:
            if isinstance(item, PipelineHooksConfig):
                item = item()
            if not isinstance(item, PipelineHooks):
                raise TypeError(f"Expected PipelineHooks or PipelineHooksConfig, but got {type(item)}")
            ret += item
        return ret

    def __repr__(self) -> str:
        """The seed's tree: every non-empty channel with its contexts, in registration order."""
        channels = "".join("\n" + add_indentation(f"{k}: {v}, ", indent=2) for k, v in self.hooks.items() if len(v))
        content = f"hooks={{{channels}\n}}" if channels else "hooks={}"
        cls = type(self)
        body = add_indentation(content, indent=2, first_line_indent=True)
        return f"<{cls.__module__}.{cls.__name__}(\n{body})>"


PipelineHooksType_co = TypeVar("PipelineHooksType_co", bound=PipelineHooks, covariant=True)


class PipelineHooksConfig(ClassConfig[PipelineHooksType_co]):
    """Config of a :class:`PipelineHooks` subclass; calling it builds the hooks."""


def channel_contexts(hooks: Any, channel: str) -> tuple[HookContext[PipelineHookArgs], ...]:
    """The contexts a RoboOrchard-style container registered on ``channel``."""
    ch = hooks.hooks[channel]
    if isinstance(ch, Channel):
        return ch.contexts
    return tuple(ch[i] for i in range(len(ch)))  # another package's HookContextChannel: its public sequence
