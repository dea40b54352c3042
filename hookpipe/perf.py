"""Keeping the compiler's hot paths cheap: the garbage collector paused, frozen nodes built fast.

Parsing and compiling allocate many small, long-lived objects (tokens, AST
nodes, graph entries) and no reference cycles worth collecting mid-way; CPython
would still run collections every few hundred allocations, each scanning the
growing heap. Pausing it for the duration roughly halves compile time on large
files. Nested use is safe; the previous state is restored. The same files make
hundreds of thousands of frozen dataclass instances, hence
:func:`frozen_constructor`.
"""

from __future__ import annotations

import dataclasses
import gc
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_T = TypeVar("_T")


def frozen_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A constructor for a frozen, slotted dataclass that costs what a plain class's does.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``
    (its own ``__setattr__`` refuses), about four times the cost of a plain
    attribute store; the parser and the passes build hundreds of thousands of such
    nodes for a big file. This builds an instance of a twin class with the same
    slots, whose plain ``__init__`` ends by making it an instance of ``cls`` (Python
    allows ``__class__`` assignment between classes of the same layout): the result
    is an ordinary, frozen ``cls``, equal to what ``cls(...)`` gives for the same
    arguments. Every field is passed, positionally, in declaration order; classes
    with ``__post_init__`` are refused.

    Example:
        >>> from hookpipe.span import Span
        >>> from hookpipe.dsl.ast import Int
        >>> frozen_constructor(Int)(3, Span("f", 1, 1, 1, 2)) == Int(3, Span("f", 1, 1, 1, 2))
        True
    """
    twin = _TWINS.get(cls)
    if twin is None:
        twin = _TWINS[cls] = _twin(cls)
    return twin


#: One twin per class, made on first use.
_TWINS: dict[type, Callable[..., Any]] = {}


def _twin(cls: type) -> Callable[..., Any]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    if getattr(cls, "__slots__", None) != names or hasattr(cls, "__post_init__") or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__} is not a plain frozen dataclass with slots=True")
    params = ", ".join(names)
    body = "".join(f"    self.{name} = {name}\n" for name in names)
    namespace: dict[str, Any] = {"_cls": cls}
    exec(f"def __init__(self, {params}):\n{body}    self.__class__ = _cls\n", namespace)  # noqa: S102
    return type(f"_{cls.__name__}Twin", (), {"__slots__": names, "__init__": namespace["__init__"],
                                              "__doc__": f"Builds a {cls.__name__} from all of its fields."})
