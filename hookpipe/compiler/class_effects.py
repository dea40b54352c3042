"""What a custom hook class says about itself: effects (per callback) and ``collective``.

Read only with ``--resolve`` (and by ``hookpipe run``), which import user code;
this module only interprets the attributes, so it stays torch-free. A class may
declare::

    class EMA:
        # every callback:
        effects = {"reads": ("params",), "writes": ("ema",)}
        # or per callback (a callback not listed gets the top-level kinds, if any):
        effects = {
            "on_step_end": {"reads": ("params",), "writes": ("ema",)},
            "on_loop_end": {"writes": ("metrics",)},
        }
        collective = True   # runs a collective: never `on main` (HP109)

Per-callback effects matter for ordering: an EMA that writes metrics only in
``loop.after`` must not be taken as a metrics writer in ``step.after`` (HP108).
Effects declared in the ``.pipe`` block add to every callback's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from hookpipe.compiler.plan import EFFECT_KINDS, Effects, callback_name, phase_order

__all__ = ["CALLBACKS", "ClassInfo", "ClassLookup", "class_info", "merge"]

#: Every callback a Plan entry can name.
CALLBACKS: tuple[str, ...] = tuple(dict.fromkeys(callback_name(s, p) for s, p in phase_order()))


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """A hook class's own declarations."""

    effects: Effects = Effects()
    callbacks: Mapping[str, Effects] = field(default_factory=dict)
    collective: bool = False


#: Import path -> what the class declares (None: it could not be imported; reported elsewhere).
ClassLookup = Callable[[str], "ClassInfo | None"]


def _kinds(value: Any, where: str) -> Effects:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping of {'/'.join(EFFECT_KINDS)} to resource names")
    unknown = sorted(set(value) - set(EFFECT_KINDS))
    if unknown:
        raise ValueError(f"{where} has unknown keys {', '.join(map(repr, unknown))}; "
                         f"expected {', '.join(EFFECT_KINDS)}")
    out = {}
    for kind in EFFECT_KINDS:
        names = value.get(kind, ())
        names = (names,) if isinstance(names, str) else names
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"{where}[{kind!r}] must list resource names (strings)")
        out[kind] = tuple(dict.fromkeys(names))
    return Effects(**out)


def class_info(cls: Any) -> ClassInfo:
    """Interpret ``cls.effects`` and ``cls.collective``.

    Raises:
        ValueError: a malformed ``effects`` attribute, saying what is wrong.

    Example:
        >>> class EMA:
        ...     effects = {"on_step_end": {"writes": ("ema",)}}
        >>> class_info(EMA).callbacks["on_step_end"].writes
        ('ema',)
    """
    declared = getattr(cls, "effects", None)
    collective = bool(getattr(cls, "collective", False))
    if declared is None:
        return ClassInfo(collective=collective)
    if not isinstance(declared, Mapping):
        raise ValueError("class attribute `effects` must be a mapping")
    per_callback = {k: v for k, v in declared.items() if k not in EFFECT_KINDS}
    unknown = sorted(k for k in per_callback if k not in CALLBACKS)
    if unknown:
        raise ValueError(f"class attribute `effects` has unknown keys {', '.join(map(repr, unknown))}; "
                         f"expected {'/'.join(EFFECT_KINDS)} or callback names ({', '.join(CALLBACKS[:2])}, ...)")
    base = _kinds({k: v for k, v in declared.items() if k in EFFECT_KINDS}, "class attribute `effects`")
    callbacks = {name: _kinds(v, f"class attribute `effects[{name!r}]`") for name, v in per_callback.items()}
    return ClassInfo(base, callbacks, collective)


def merge(info: ClassInfo, declared: Effects) -> tuple[Effects, dict[str, Effects]]:
    """The hook-level and per-callback effects of a class plus what the ``.pipe`` block declares."""
    callbacks = {name: Effects.union(e, declared) for name, e in info.callbacks.items()}
    return Effects.union(info.effects, declared), callbacks
