"""Shared test helpers: where the real sample data lives."""

from pathlib import Path

import pytest

#: ``../shared/data`` beside the repository checkout (see shared/data/README.md).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The shared sample data folder (``mmm/``, ``geo_experiments/``, ``causal/``)."""
    return SHARED_DATA
