"""Simulated lift tests: what an experiment would measure under the true model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixflow.data.dataset import MMMDataset
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, SimulatedBrand, simulate_brand
from mixflow.datasets.lift import (
    heavy_up_probe,
    simulated_go_dark_test,
    simulated_heavy_up_test,
    true_lift,
)
from mixflow.errors import SpecError
from mixflow.spec.config import parse_config


def _brand() -> tuple[SimulatedBrand, MMMDataset]:
    brand = simulate_brand(
        BrandSimulation(n_weeks=60, n_geos=3, channels=DEFAULT_CHANNELS[:3]),
        np.random.default_rng(4),
    )
    assert brand.true_response is not None
    return brand, dataset_from_frame(brand.frame, parse_config(brand.config).data)


def test_go_dark_cuts_the_whole_window_spend_and_measures_a_loss() -> None:
    brand, data = _brand()
    assert brand.true_response is not None
    test = simulated_go_dark_test(
        brand.true_response, data, "search", 20, 27, 0.15, np.random.default_rng(0)
    )
    c = data.channels.index("search")
    assert test.spend_change == -data.spend[:, 20:28, c].sum()
    assert (test.start, test.end) == tuple(pd.Timestamp(data.dates[i]).date() for i in (20, 27))
    truth = true_lift(brand.true_response, test, data)
    # going dark loses KPI; the reported standard error is 15% of the true loss
    assert truth < 0
    np.testing.assert_allclose(test.standard_error, 0.15 * abs(truth), rtol=1e-12)


def test_heavy_up_probe_adds_the_share_of_the_tested_geos_window_spend() -> None:
    brand, data = _brand()
    assert brand.true_response is not None
    geos = data.geos[:2]
    probe = heavy_up_probe(data, "search", 30, 35, 0.5, geos)
    c = data.channels.index("search")
    np.testing.assert_allclose(probe.spend_change, 0.5 * data.spend[:2, 30:36, c].sum())
    assert probe.geos == tuple(geos)
    # the simulated test measures the probe's change: its standard error is 15% of that lift
    test = simulated_heavy_up_test(
        brand.true_response, data, "search", 30, 35, 0.5, 0.15, np.random.default_rng(0), geos
    )
    assert test.spend_change == probe.spend_change
    lift = true_lift(brand.true_response, probe, data)
    assert lift > 0
    np.testing.assert_allclose(test.standard_error, 0.15 * lift, rtol=1e-12)
    with pytest.raises(SpecError, match="increase must be > 0"):
        heavy_up_probe(data, "search", 30, 35, 0.0)
