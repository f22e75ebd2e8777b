"""Shared test helpers: where the real sample data lives, and JAX set-up for the suite."""

import os
import tempfile
from pathlib import Path

import numpyro
import pytest

# One CPU device per chain (before JAX's first computation), as the CLI does.
numpyro.set_host_device_count(4)
# Compiled samplers are shared between tests (and xdist workers) of the same model shape.
os.environ.setdefault("MIXFLOW_CACHE_DIR", str(Path(tempfile.gettempdir()) / "mixflow-test-cache"))
import jax  # noqa: E402

jax.config.update("jax_compilation_cache_dir", str(Path(os.environ["MIXFLOW_CACHE_DIR"]) / "jax"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

#: ``../shared/data`` beside the repository checkout (see shared/data/README.md).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: the repository root (examples/ lives there)
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def shared_data() -> Path:
    """The shared sample data folder (``mmm/``, ``geo_experiments/``, ``causal/``)."""
    return SHARED_DATA
