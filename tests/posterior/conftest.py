"""Two small NUTS fits of one simulated brand: the model it was simulated from, and one without
its trend and seasonality (what LOO should rank lower)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mixflow.posterior import Posterior

ConfigWriter = Callable[[Path, dict[str, Any]], Path]

FIT: dict[str, Any] = {
    "method": "nuts",
    "chains": 2,
    "warmup": 200,
    "draws": 200,
    "seed": 1,
    "progress_bar": False,
    "holdout_weeks": 8,
}


def _fit(folder: Path, config: Path, model: dict[str, Any] | None = None) -> Path:
    from mixflow.workflow import fit_run

    if model is not None:
        raw = yaml.safe_load(config.read_text())
        raw["model"].update(model)
        config = folder / "config_variant.yaml"
        config.write_text(yaml.safe_dump(raw))
    out = folder / "run"
    fit_run(config, out)
    return out


@pytest.fixture(scope="session")
def true_form_run(
    tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter
) -> Path:
    """Run folder: the simulated brand fitted with the form it was simulated from."""
    folder = tmp_path_factory.mktemp("true_form")
    return _fit(folder, small_brand_config(folder, FIT))


@pytest.fixture(scope="session")
def no_baseline_run(
    tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter
) -> Path:
    """Run folder: the same data, fitted without trend and seasonality."""
    folder = tmp_path_factory.mktemp("no_baseline")
    config = small_brand_config(folder, FIT)
    return _fit(
        folder, config, {"trend": "none", "seasonality": {"period": 52.18, "fourier_terms": 0}}
    )


@pytest.fixture(scope="session")
def true_form(true_form_run: Path) -> Posterior:
    from mixflow.workflow import load_run

    return load_run(true_form_run)
