"""tests/training: make `rnnkit` (src/) and training_helpers importable, shared fixtures."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:  # an editable install (CI) makes this a no-op
    import rnnkit.training  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, str(HERE.parents[1] / "src"))

from training_helpers import linear_batches  # noqa: E402


@pytest.fixture
def batches():
    return linear_batches()
