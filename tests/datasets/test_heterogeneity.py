"""Geo heterogeneity options of the simulator: per-geo half-saturation relative to each geo's own
typical exposure, and per-geo effect multipliers with a stated log-sd."""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, SimulatedBrand, simulate_brand
from mixflow.datasets.simulate import geo_half_saturation
from mixflow.datasets.truth import TrueResponse
from mixflow.errors import SpecError

HETERO = BrandSimulation(
    n_weeks=60,
    n_geos=12,
    channels=DEFAULT_CHANNELS[:3],
    geo_relative_saturation=True,
    geo_effect_sd=0.25,
)


def brand(sim: BrandSimulation, seed: int = 5) -> tuple[SimulatedBrand, TrueResponse]:
    b = simulate_brand(sim, np.random.default_rng(seed))
    assert b.true_response is not None
    return b, b.true_response


def test_half_saturation_scales_with_each_geos_own_exposure() -> None:
    b, truth = brand(HETERO)
    half = truth.half_saturation
    assert half.shape == (HETERO.n_geos, len(HETERO.channels))
    for c, ch in enumerate(HETERO.channels):
        # each geo's own mean active per-capita exposure, from the frame (not the simulator)
        spend = b.frame[f"{ch.name}_spend"].to_numpy().reshape(HETERO.n_geos, -1)
        pop = b.frame["population"].to_numpy().reshape(HETERO.n_geos, -1)[:, 0]
        expo = spend / (ch.cost_per_exposure if ch.has_exposure else 1.0) / pop[:, None]
        own = np.array([row[row > 0].mean() for row in expo])
        panel = expo[expo > 0].mean()
        np.testing.assert_allclose(half[:, c], ch.half_saturation * own / panel, rtol=1e-9)
        # a real spread across geos (the option would be moot without it)
        assert np.std(np.log(half[:, c])) > 0.1


def test_default_keeps_one_half_saturation_per_channel() -> None:
    sim = BrandSimulation(n_weeks=60, n_geos=6, channels=DEFAULT_CHANNELS[:3])
    _, truth = brand(sim)
    np.testing.assert_array_equal(
        truth.half_saturation, [ch.half_saturation for ch in sim.channels]
    )


def test_effect_multipliers_have_the_stated_log_sd() -> None:
    sim = BrandSimulation(n_weeks=20, n_geos=100, channels=DEFAULT_CHANNELS, geo_effect_sd=0.25)
    _, truth = brand(sim, seed=11)
    logs = np.log(truth.geo_mult).ravel()  # 500 independent Normal(0, 0.25) draws
    n = logs.size
    # sample sd of n Normal draws: sd ~ 0.25 / sqrt(2 n) = 0.008; 4 of those either side
    assert abs(np.std(logs, ddof=1) - 0.25) < 4 * 0.25 / np.sqrt(2 * n)
    assert abs(np.mean(logs)) < 4 * 0.25 / np.sqrt(n)


def test_replaying_history_reproduces_heterogeneous_contributions() -> None:
    """The true response evaluates the per-geo half-saturation as the simulator did."""
    b, truth = brand(HETERO)
    g = HETERO.n_geos
    spend = np.stack(
        [b.frame[f"{ch}_spend"].to_numpy().reshape(g, -1) for ch in truth.channels], axis=2
    )
    got = truth.channel_values(spend, start=0)
    want = np.array([b.true_contribution[ch] for ch in truth.channels])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # and it differs from a pooled half-saturation on the same panel
    pooled = TrueResponse(
        **{k: getattr(truth, k) for k in truth.__dataclass_fields__}
        | {"half_saturation": np.array([ch.half_saturation for ch in HETERO.channels])}
    )
    assert not np.allclose(pooled.channel_values(spend, start=0), want, rtol=1e-3)


def test_geo_half_saturation_keeps_a_silent_geo_at_the_panel_value() -> None:
    x = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 3.0]])
    np.testing.assert_allclose(geo_half_saturation(0.8, x, relative=True), [0.8, 1.6])
    np.testing.assert_allclose(geo_half_saturation(0.8, x, relative=False), [0.8, 0.8])


def test_bad_options_are_named() -> None:
    with pytest.raises(SpecError, match="geo_effect_sd"):
        BrandSimulation(n_geos=4, geo_effect_sd=-0.1)
    with pytest.raises(SpecError, match="hill"):
        BrandSimulation(n_geos=4, geo_relative_saturation=True, saturation="logistic")
