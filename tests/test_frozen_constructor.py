"""``perf.frozen_constructor``: the parser's and passes' cheap way to build frozen nodes."""

from __future__ import annotations

import dataclasses

import pytest

from hookpipe.compiler.context import Node, Origin
from hookpipe.dsl import ast
from hookpipe.dsl.span import Span
from hookpipe.perf import COMPILE_AFTER, frozen_constructor

SPAN = Span("f.pipe", 3, 5, 3, 9)


def test_builds_what_the_class_builds() -> None:
    every = ast.Every(10, "steps", SPAN, SPAN)
    made = frozen_constructor(ast.Attachment)("h", every, None, None, True, "main", SPAN, SPAN, SPAN)
    expected = ast.Attachment("h", every, None, None, True, "main", SPAN, SPAN, SPAN)
    assert type(made) is ast.Attachment
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert dataclasses.asdict(made) == dataclasses.asdict(expected)


def test_the_result_stays_frozen() -> None:
    origin = frozen_constructor(Origin)("written", SPAN, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        origin.kind = "order"  # type: ignore[misc]
    assert origin == Origin("written", SPAN)


def test_every_field_is_required() -> None:
    with pytest.raises(TypeError):
        frozen_constructor(Origin)("written", SPAN)  # defaults are not filled in


def test_refuses_classes_it_cannot_build() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise AssertionError("never skipped")

    for cls in (NoSlots, Checked):
        with pytest.raises(TypeError, match="not a plain frozen dataclass"):
            frozen_constructor(cls)


def test_one_constructor_per_class() -> None:
    assert frozen_constructor(Node) is frozen_constructor(Node)


def test_the_compiled_init_builds_the_same() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Pair:
        a: int
        b: str

    make = frozen_constructor(Pair)
    first = make.__init__  # type: ignore[misc]
    built = [make(i, str(i)) for i in range(COMPILE_AFTER + 3)]
    assert make.__init__ is not first  # type: ignore[misc]  # compiled once enough were built
    assert built == [Pair(i, str(i)) for i in range(COMPILE_AFTER + 3)]
    assert all(type(p) is Pair for p in built)
    with pytest.raises(TypeError):
        make(1)
