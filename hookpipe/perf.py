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
    with ``__post_init__`` are refused. The plain ``__init__`` is compiled once the
    twin has built :data:`COMPILE_AFTER` objects (see there).

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


#: Objects a twin builds before it compiles its plain ``__init__``: compiling costs
#: about what a thousand objects save, so a small file (a one-file lint) never pays it.
COMPILE_AFTER = 1000


def _twin(cls: type) -> Callable[..., Any]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    if getattr(cls, "__slots__", None) != names or hasattr(cls, "__post_init__") or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__} is not a plain frozen dataclass with slots=True")
    made = 0

    def first_objects(self: Any, *args: Any) -> None:
        """Fill the slots one by one; the ``COMPILE_AFTER``-th call puts the compiled ``__init__`` in place."""
        nonlocal made
        if len(args) != len(names):
            raise TypeError(f"{cls.__name__} takes {len(names)} fields, got {len(args)}")
        for name, value in zip(names, args):
            setattr(self, name, value)
        self.__class__ = cls
        made += 1
        if made == COMPILE_AFTER:
            twin.__init__ = _compiled_init(cls, names)  # type: ignore[misc]

    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": names, "__init__": first_objects,
                                            "__doc__": f"Builds a {cls.__name__} from all of its fields."})
    return twin


def _compiled_init(cls: type, names: tuple[str, ...]) -> Callable[..., None]:
    """``def __init__(self, a, b): self.a = a; self.b = b; self.__class__ = cls``, compiled for these names."""
    body = "".join(f"    self.{name} = {name}\n" for name in names)
    namespace: dict[str, Any] = {"_cls": cls}
    exec(f"def __init__(self, {', '.join(names)}):\n{body}    self.__class__ = _cls\n", namespace)  # noqa: S102
    return namespace["__init__"]
