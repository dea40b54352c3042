"""The fuzz budget: fixed in CI, scaled up for a campaign.

``HOOKPIPE_FUZZ_SCALE`` multiplies every test's example count (default 1), so
``HOOKPIPE_FUZZ_SCALE=50 HYPOTHESIS_PROFILE=campaign pytest tests/fuzz`` runs
about 100,000 random (not derandomized) inputs.
"""

from __future__ import annotations

import os


def examples(base: int) -> int:
    """``base`` examples times the campaign scale."""
    return max(1, int(base * float(os.environ.get("HOOKPIPE_FUZZ_SCALE", "1"))))
