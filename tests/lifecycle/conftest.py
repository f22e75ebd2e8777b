"""Lifecycle fixtures: one tiny MAP run directory, a fresh store under a tmp MIXFLOW_HOME."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.lifecycle import LifecycleSettings, settings_from_env
from mixflow.workflow import fit_run

SMALL = BrandSimulation(n_weeks=80, channels=DEFAULT_CHANNELS[:2], n_events=1, fourier_terms=1)


def _write_config(tmp: Path, fit: dict) -> Path:  # type: ignore[type-arg]
    brand = simulate_brand(SMALL, np.random.default_rng(3))
    brand.frame.to_csv(tmp / "data.csv", index=False)
    cfg = dict(brand.config)
    cfg["fit"] = fit
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def map_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory of a tiny MAP fit without holdout (80 weeks, 2 channels)."""
    tmp = tmp_path_factory.mktemp("lifecycle_run")
    config = _write_config(
        tmp, {"method": "map", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 0}
    )
    out = tmp / "run"
    fit_run(config, out)
    return out


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LifecycleSettings:
    """Settings of an empty embedded store under this test's tmp folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("MIXFLOW_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return settings_from_env({"MIXFLOW_HOME": str(home)})
