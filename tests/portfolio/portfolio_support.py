"""Portfolio test helpers (imported by the tests, not a conftest): tiny simulated brands as config folders, and a portfolio file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, SimulatedBrand, simulate_brand

#: tiny NUTS settings: seconds per fit once the sampler is compiled (same shape for every brand)
TINY_NUTS = {"method": "nuts", "chains": 2, "warmup": 50, "draws": 50, "progress_bar": False}
#: the shape every test brand shares (one compiled sampler serves them all)
SIM = BrandSimulation(n_weeks=60, channels=DEFAULT_CHANNELS[:2], n_events=1, fourier_terms=1)


def write_brand(folder: Path, seed: int, sim: BrandSimulation = SIM) -> SimulatedBrand:
    """A simulated brand as ``folder/data.csv`` and ``folder/config.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    brand = simulate_brand(sim, np.random.default_rng(seed))
    brand.frame.to_csv(folder / "data.csv", index=False)
    (folder / "config.yaml").write_text(yaml.safe_dump(brand.config))
    return brand


def write_broken_brand(folder: Path, seed: int) -> None:
    """A brand whose data lost a spend column its config names (fails at load, not at parse)."""
    write_brand(folder, seed)
    frame = pd.read_csv(folder / "data.csv").drop(columns=["search_spend"])
    frame.to_csv(folder / "data.csv", index=False)


def write_portfolio(
    path: Path, models: list[dict[str, Any]], defaults: dict[str, Any] | None = None
) -> Path:
    doc: dict[str, Any] = {"name": "test-portfolio", "models": models}
    if defaults is not None:
        doc["defaults"] = defaults
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
