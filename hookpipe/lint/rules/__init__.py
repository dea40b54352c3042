"""The lint rules: one module per warning code, listed once in ``RULES``.

A rule is a module with ``CODE`` and ``check(ctx) -> Iterator[Diagnostic]``; it
receives a compilation that passed every compiler check (graphs built, plan
lowered) and yields warnings. HP110 judges the suppression comments instead, once
every other rule's findings were suppressed: its ``check`` takes one
:class:`~hookpipe.lint.suppress.Suppression` and the enabled codes. The tuple below is the registry, in code order, so
what runs and in which order never depends on import or registration order.
Rules only read the compilation; none imports torch or user code.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Iterable

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.codes import BY_CODE, Code
from hookpipe.lint.rules import (
    hp101,
    hp102,
    hp103,
    hp104,
    hp105,
    hp106,
    hp107,
    hp108,
    hp109,
    hp110,
    hp111,
    hp112,
    hp113,
)
from hookpipe.lint.suppress import Suppression


@dataclass(frozen=True, slots=True)
class Rule:
    """One lint rule: its code and the function that checks a compilation (or a suppression)."""

    code: str
    check: Callable[[Compilation], Iterable[Diagnostic]] | None = None
    #: For HP110: judges one suppression comment, given the enabled codes.
    check_suppression: Callable[[Suppression, frozenset[str]], list[Diagnostic]] | None = None

    @property
    def info(self) -> Code:
        return BY_CODE[self.code]


def _rule(module: ModuleType) -> Rule:
    return Rule(module.CODE, module.check)


RULES: tuple[Rule, ...] = (
    *(_rule(m) for m in (hp101, hp102, hp103, hp104, hp105, hp106, hp107, hp108, hp109)),
    Rule(hp110.CODE, check_suppression=hp110.check),
    _rule(hp111),
    _rule(hp112),
    _rule(hp113),
)


def run_rules(ctx: Compilation, enabled: Callable[[str], bool] = lambda code: True) -> list[Diagnostic]:
    """Every enabled rule's findings on one error-free compilation.

    Example:
        >>> from hookpipe.compiler.pipeline import run_passes
        >>> from hookpipe.compiler.loader import load_text
        >>> ctx = run_passes(load_text("trainer { max_step = 10 }\\nhook o = optimizer()", "x.pipe"), "x.pipe")
        >>> [d.code for d in run_rules(ctx)]
        ['HP103', 'HP104']
    """
    found: list[Diagnostic] = []
    for rule in RULES:
        if rule.check is not None and enabled(rule.code):
            found.extend(rule.check(ctx))
    return found


def check_suppressions(marks: Iterable[Suppression], enabled: frozenset[str]) -> list[Diagnostic]:
    """The suppression rules' findings (HP110) on one file's comments, after suppression."""
    found: list[Diagnostic] = []
    for rule in RULES:
        if rule.check_suppression is not None and rule.code in enabled:
            for mark in marks:
                found += rule.check_suppression(mark, enabled)
    return found
