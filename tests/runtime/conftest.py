"""Runtime test fixtures: a fresh accelerate state per test, small thread counts."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def fresh_accelerate():
    """accelerate keeps process-wide singletons; each test builds its own Accelerator."""
    from accelerate.state import AcceleratorState, GradientState

    torch.set_num_threads(1)
    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
