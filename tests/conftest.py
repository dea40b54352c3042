"""Hypothesis profiles: ``ci`` (default: fixed seed, no deadline flakes) and ``campaign``."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,  # the same inputs on every run: a failure reproduces
    deadline=None,  # hangs are caught by the pathological tests' time limits instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    "campaign",
    derandomize=False,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
