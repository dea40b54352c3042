"""HP113: an ``ema`` decay that reads as MMEngine's momentum.

hookpipe's ``ema`` takes the decay, the weight the average keeps at each update;
MMEngine's ``ExponentialMovingAverage``, timm's ``ModelEmaV3`` warm-up and other
ports write ``momentum``, the weight of the new value (``1 - decay``). A hand
port that copies ``momentum = 0.0002`` into ``decay`` gets an average that is the
current weights to within 0.02%: the run works, validation of the "EMA" weights
looks like the raw model's, and nothing says why. Decays in use are 0.9 and up;
below one half the average follows the weights more than it remembers, which no
one asks of an EMA.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic
from hookpipe.lint.rules._common import warning

CODE = "HP113"
#: Decays below this are read as a momentum written in the decay's place.
LOWEST = 0.5


def check(ctx: Compilation) -> Iterator[Diagnostic]:
    for name, info in ctx.hooks.items():
        if info.builtin is None or info.builtin.name != "ema" or not info.args_ok:
            continue
        decay = info.args.get("decay")
        if not isinstance(decay, (int, float)) or decay >= LOWEST:
            continue
        written = next((a for a in info.decl.args if a.name == "decay"), None)
        yield warning(
            CODE,
            f"`{name}` (ema) keeps {decay:g} of its average at each update: the average is close to the "
            f"current weights. Is this MMEngine's `momentum` (the new value's weight, 1 - decay)?",
            written.span if written is not None else info.decl.span,
            help=f"write the decay, `decay = {1 - decay:.10g}`, for an average over about "
                 f"{1 / decay:,.0f} updates",
        )
