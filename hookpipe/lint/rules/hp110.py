"""HP110: a ``# hookpipe: ignore[...]`` comment that suppresses nothing.

Judged after every other rule ran and suppressions were applied (a stale
comment hides the next real finding on its line). Codes the selection turned off
are not reported: the comment may be needed where they are on.
"""

from __future__ import annotations

from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.codes import BY_CODE
from hookpipe.lint.suppress import Suppression

CODE = "HP110"


def check(suppression: Suppression, enabled: frozenset[str]) -> list[Diagnostic]:
    """HP110 for each code of ``suppression`` that suppressed nothing (deselected codes excepted)."""
    if suppression.bare:
        return [Diagnostic(CODE, "warning", "unused suppression: `# hookpipe: ignore` without codes suppresses nothing",
                           suppression.span, help="name the codes it is for: `# hookpipe: ignore[HP103]` (hookpipe "
                           "has no bare form: it would hide the next real finding on the line too)")]
    out: list[Diagnostic] = []
    for code in suppression.codes:
        if code in suppression.used:
            continue
        info = BY_CODE.get(code)
        if info is None:
            reason = f"`{code}` is not a hookpipe code"
        elif info.severity == "error":
            reason = f"{code} is an error, and errors cannot be suppressed"
        elif code not in enabled:
            continue
        else:
            reason = f"there is no {code} on this line"
        out.append(Diagnostic(CODE, "warning", f"unused suppression: {reason}", suppression.span,
                              help="remove the code from the comment (or the whole comment)"))
    return out
