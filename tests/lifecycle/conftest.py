"""Lifecycle fixtures: tiny SVI and MAP run directories, a fresh store under a tmp
MIXFLOW_HOME."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mixflow.lifecycle import LifecycleSettings, settings_from_env
from mixflow.workflow import fit_run


@pytest.fixture(scope="session")
def map_run_dir(
    tmp_path_factory: pytest.TempPathFactory,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
) -> Path:
    """A run directory of a tiny MAP fit without holdout (80 weeks, 2 channels)."""
    tmp = tmp_path_factory.mktemp("lifecycle_run")
    config = small_brand_config(
        tmp, {"method": "map", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 0}
    )
    out = tmp / "run"
    fit_run(config, out)
    return out


@pytest.fixture(scope="session")
def svi_run_dir(
    tmp_path_factory: pytest.TempPathFactory,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
) -> Path:
    """A run directory of a tiny SVI fit without holdout (80 weeks, 2 channels): posterior
    draws with intervals, so it passes every gate of the default policy, which refuses to
    promote a point estimate (MAP). The fixture of the tests about promotion; it costs what
    the MAP fit costs (about 10 s)."""
    tmp = tmp_path_factory.mktemp("lifecycle_svi_run")
    config = small_brand_config(
        tmp, {"method": "svi", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 0}
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
