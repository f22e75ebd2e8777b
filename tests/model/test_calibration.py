"""Lift tests in the model: the implied lift equals the simulator's exact lift at the true
parameters, spend changes land where the contract says, ROI priors from tests, and clear errors."""

from __future__ import annotations

import functools
import math
from datetime import date, timedelta
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from mixflow.data.dataset import MMMDataset
from mixflow.data.lift_tests import LiftTest, load_lift_tests, spend_change_cells
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, SimulatedBrand, simulate_brand
from mixflow.datasets.lift import true_lift
from mixflow.errors import DataError, SpecError
from mixflow.model.calibration import roi_priors_from_tests, spec_with_test_priors
from mixflow.model.design import build_design
from mixflow.model.mmm import implied_lift
from mixflow.spec import model_spec_from_config, parse_config
from mixflow.spec.model_spec import ModelSpec, PriorParameterization

NATIONAL = BrandSimulation(n_weeks=60, channels=DEFAULT_CHANNELS[:3])
GEO = BrandSimulation(
    n_weeks=50, n_geos=3, channels=DEFAULT_CHANNELS[:3], adstock="weibull", saturation="logistic"
)
#: the model evaluates in float32; the simulator's truth in float64
FLOAT32_RTOL = 2e-4


@functools.cache
def brand(sim: BrandSimulation) -> tuple[SimulatedBrand, MMMDataset]:
    b = simulate_brand(sim, np.random.default_rng(11))
    return b, dataset_from_frame(b.frame, parse_config(b.config).data)


def day(data: MMMDataset, i: int) -> date:
    return pd.Timestamp(data.dates[i]).date()


def true_params(b: SimulatedBrand, data: MMMDataset, spec: ModelSpec) -> dict[str, jnp.ndarray]:
    """Model parameters equal to the simulator's truth (coefficient parameterization, with geo
    deviations carrying each geo's true coefficient)."""
    truth = b.true_response
    assert truth is not None
    design = build_design(data, spec)
    channels = b.config["data"]["media"]
    retention = np.array([ch.retention for ch in NATIONAL.channels])
    assert len(channels) == len(retention)
    # KPI per geo = coef_gc * s * kpi_scale * pop_g must equal beta_c * pop_share_g * mult_gc * s
    per_geo = truth.kpi_per_saturated / (design.kpi_scale * data.population[:, None])
    params = {
        "alpha": retention,
        "shape": 1.0 + 2.0 * retention,
        "scale": np.full(3, 2.0),
        "half_saturation": truth.half_saturation,
        "slope": truth.slope,
        "lam": truth.lam,
        "coef": np.ones(3),
    }
    if data.is_geo:
        params |= {"geo_tau": np.ones(3), "geo_z": np.log(per_geo)}
    else:
        params["coef"] = per_geo[0]
    return {k: jnp.asarray(v, dtype=jnp.float32) for k, v in params.items()}


def coefficient_spec(b: SimulatedBrand) -> ModelSpec:
    raw = {
        **b.config,
        # the simulated truth saturates every geo on one curve (pooled)
        "model": {
            **b.config["model"],
            "priors": {"parameterization": "coefficient"},
            **({"geo_saturation": "pooled"} if b.config["data"].get("geo_column") else {}),
        },
    }
    spec = model_spec_from_config(parse_config(raw))
    assert spec.priors.parameterization is PriorParameterization.COEFFICIENT
    return spec


@pytest.mark.parametrize(
    ("sim", "channel", "geos", "change"),
    [
        (NATIONAL, "tv", (), 300_000.0),  # flighted: scales its bursts in the window
        (NATIONAL, "search", (), -20_000.0),  # partial go-dark of an always-on channel
        (NATIONAL, "social", (), 50_000.0),  # exposure (impressions) follows spend
        (GEO, "search", ("geo_00", "geo_02"), 40_000.0),
        (GEO, "social", ("geo_01",), -5_000.0),
    ],
    ids=["tv", "search-go-dark", "social-impressions", "geo-search", "geo-social-go-dark"],
)
def test_implied_lift_at_true_parameters_equals_the_true_lift(
    sim: BrandSimulation, channel: str, geos: tuple[str, ...], change: float
) -> None:
    b, data = brand(sim)
    assert b.true_response is not None
    test = LiftTest(channel, day(data, 20), day(data, 25), geos, change, 0.0, 1.0)
    want = true_lift(b.true_response, test, data)
    spec = coefficient_spec(b)
    design = build_design(data, spec, lift_tests=(test,))
    assert design.calibration is not None
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    params = true_params(b, data, spec)
    beta = params["coef"][None, :] * (
        jnp.exp(params["geo_tau"] * params["geo_z"]) if data.is_geo else 1.0
    )
    got = float(implied_lift(params, arrays, spec, beta)[0]) * design.calibration.unit
    assert abs(want) > 100.0  # a real effect, not 0 == 0
    assert math.copysign(1.0, want) == math.copysign(1.0, change)
    assert got == pytest.approx(want, rel=FLOAT32_RTOL)


def test_spend_change_follows_the_channels_own_spend_in_the_window() -> None:
    _, data = brand(NATIONAL)
    c = data.channels.index("search")
    test = LiftTest("search", day(data, 10), day(data, 13), (), 10_000.0, 1.0, 1.0)
    cells = spend_change_cells(test, data, max_lag=8)
    window = data.spend[0, 10:14, c]
    np.testing.assert_allclose(cells.spend[0, 10:14], 10_000.0 * window / window.sum())
    assert cells.spend.sum() == pytest.approx(10_000.0)
    assert np.count_nonzero(cells.spend) == 4
    # measured: the window plus max_lag carryover periods, nothing else
    assert np.flatnonzero(cells.measured[0]).tolist() == list(range(10, 14 + 8))


def test_spend_change_is_flat_where_the_channel_was_dark() -> None:
    _, data = brand(NATIONAL)
    c = data.channels.index("tv")
    dark = np.flatnonzero(data.spend[0, :, c] == 0)
    run = next(i for i in dark if {i + 1, i + 2} <= set(dark.tolist()))
    test = LiftTest("tv", day(data, run), day(data, run + 2), (), 9_000.0, 1.0, 1.0)
    cells = spend_change_cells(test, data, max_lag=8)
    np.testing.assert_allclose(cells.spend[0, run : run + 3], 3_000.0)


def test_geo_test_spreads_by_spend_over_its_geos_only() -> None:
    _, data = brand(GEO)
    test = LiftTest("search", day(data, 5), day(data, 9), ("geo_01",), 1_000.0, 1.0, 1.0)
    cells = spend_change_cells(test, data, max_lag=8)
    assert cells.spend[[0, 2]].sum() == 0.0
    assert cells.spend[1].sum() == pytest.approx(1_000.0)
    assert not cells.measured[[0, 2]].any()


def test_measured_until_bounds_the_carryover() -> None:
    _, data = brand(NATIONAL)
    test = LiftTest(
        "search", day(data, 10), day(data, 13), (), 1.0, 1.0, 1.0, measured_until=day(data, 15)
    )
    cells = spend_change_cells(test, data, max_lag=8)
    assert np.flatnonzero(cells.measured[0]).tolist() == list(range(10, 16))


@pytest.mark.parametrize(
    ("change", "geos", "start", "end", "message"),
    [
        (1.0, (), 3, 4, "channel 'serch' (did you mean 'search'?)"),
        (1.0, ("geo_9",), 3, 4, "geo 'geo_9'"),
        (1.0, (), -3, 4, "is before the data's first period"),
        (1.0, (), 3, 70, "is after the data's last period"),
        (-1e12, (), 3, 4, "removes more than 'search' spent"),
    ],
    ids=["channel", "geo", "before", "after", "go-dark"],
)
def test_lift_tests_that_do_not_fit_the_data_are_named(
    change: float, geos: tuple[str, ...], start: int, end: int, message: str
) -> None:
    _, data = brand(GEO)
    first = day(data, 0)
    channel = "serch" if "serch" in message else "search"
    test = LiftTest(
        channel,
        first + timedelta(weeks=start),
        first + timedelta(weeks=end),
        geos,
        change,
        1.0,
        1.0,
        label="lift.csv row 2",
    )
    with pytest.raises(DataError, match=r"lift\.csv row 2") as err:
        spend_change_cells(test, data, max_lag=8)
    assert message in str(err.value)


def test_experiments_table_errors_name_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "lift.csv"
    header = "channel,start,end,geos,spend_change,incremental_kpi,standard_error"
    path.write_text(f"{header}\ntv,2023-01-02,2023-01-30,,1000,500,50\ntv,2023-02-06,x,,1,1,1\n")
    with pytest.raises(DataError, match=r"lift.csv row 2: end 'x' is not a date"):
        load_lift_tests(path)
    path.write_text(f"{header}\ntv,2023-01-02,2023-01-30,,1000,500,0\n")
    with pytest.raises(DataError, match=r"row 1: standard_error must be > 0, got 0.0"):
        load_lift_tests(path)
    path.write_text(header.replace("standard_error", "std_error") + "\ntv,2023-01-02,,,1,1,1\n")
    with pytest.raises(DataError, match=r"missing column 'standard_error' \(did you mean"):
        load_lift_tests(path)
    good = "tv,2023-01-02,2023-01-30,a|b,1000,500,50,2023-03-27"
    path.write_text(f"{header},measured_until\n{good}\n")
    (test,) = load_lift_tests(path)
    assert test.geos == ("a", "b")
    assert test.measured_until == date(2023, 3, 27)


def test_roi_prior_from_tests_pools_by_inverse_variance() -> None:
    b, data = brand(NATIONAL)
    a = LiftTest("tv", day(data, 10), day(data, 12), (), 100_000.0, 200_000.0, 20_000.0)
    c = LiftTest("tv", day(data, 30), day(data, 32), (), 100_000.0, 300_000.0, 60_000.0)
    priors = roi_priors_from_tests([a, c], data, max_lag=8)
    # log-ROI 2 with sd 0.1, and 3 with sd 0.2: precision weights 100 and 25
    want = (100 * math.log(2.0) + 25 * math.log(3.0)) / 125
    assert priors["tv"].median == pytest.approx(math.exp(want))
    assert priors["tv"].sigma == pytest.approx(math.sqrt(1 / 125))
    spec = spec_with_test_priors(model_spec_from_config(parse_config(b.config)), [a], data)
    assert dict(spec.priors.roi)["tv"].median == pytest.approx(2.0)
    negative = LiftTest("tv", day(data, 10), day(data, 12), (), 100_000.0, -5.0, 20_000.0)
    with pytest.raises(SpecError, match="needs a positive ROI"):
        roi_priors_from_tests([negative], data, max_lag=8)
