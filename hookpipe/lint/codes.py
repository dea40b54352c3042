"""Every diagnostic code hookpipe can report, with its severity and one-line title.

One table for the compiler's errors (HP0xx, SPEC section 8) and the lint's
warnings (HP1xx), so selection, SARIF rule metadata and the documentation pages
are all checked against the same list and none can go missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hookpipe.diagnostics import Severity

#: Where each code's page is published; ``{code}`` is replaced. docs/rules/ is the source.
HELP_URI = "https://github.com/hookpipe/hookpipe/blob/main/docs/rules/{code}.md"


@dataclass(frozen=True, slots=True)
class Code:
    """A diagnostic code: stable once released."""

    code: str
    severity: Severity
    title: str

    @property
    def help_uri(self) -> str:
        return HELP_URI.format(code=self.code)


CODES: tuple[Code, ...] = (
    Code("HP001", "error", "syntax error"),
    Code("HP002", "error", "unknown name"),
    Code("HP003", "error", "invalid hook or trainer argument"),
    Code("HP004", "error", "ordering cycle"),
    Code("HP005", "error", "effect order violated"),
    Code("HP006", "error", "illegal nesting, or a hook attached where it cannot run"),
    Code("HP007", "error", "invalid frequency"),
    Code("HP008", "error", "invalid run settings"),
    Code("HP009", "error", "duplicate definition"),
    Code("HP010", "error", "include not found, include cycle, or include outside the project root"),
    Code("HP011", "error", "a `require` partner is not attached in the same phase"),
    Code("HP101", "warning", "a hook never fires within the run"),
    Code("HP102", "warning", "a step or batch frequency that is not a multiple of grad_accumulation"),
    Code("HP103", "warning", "a hook declared but never attached"),
    Code("HP104", "warning", "no optimizer attached"),
    Code("HP105", "warning", "two hooks in one phase write the same resource with no order between them"),
    Code("HP106", "warning", "wrapper hooks that do not nest"),
    Code("HP107", "warning", "the same hook attached twice in one phase"),
    Code("HP108", "warning", "a checkpoint that records metrics fires where validation did not just run"),
    Code("HP109", "warning", "an `on main` hook whose type needs every process"),
    Code("HP110", "warning", "a `# hookpipe: ignore[...]` comment that suppresses nothing"),
    Code("HP111", "warning", "a `log()` hook with no tracker to write to"),
    Code("HP112", "warning", "a RoboOrchard Lab hook not attached where its own callbacks act"),
    Code("HP113", "warning", "an `ema` decay that reads as MMEngine's momentum (below 0.5)"),
)

BY_CODE: dict[str, Code] = {c.code: c for c in CODES}
