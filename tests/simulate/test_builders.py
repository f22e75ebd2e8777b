"""Ways to state a plan, and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixflow.data.dataset import MMMDataset
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.errors import SpecError
from mixflow.simulate import Plan, channel_shares, geo_split, load_plan, plan_from_dict
from mixflow.spec import parse_config


@pytest.fixture(scope="module", params=[1, 3], ids=["national", "geo"])
def data(request: pytest.FixtureRequest) -> MMMDataset:
    sim = BrandSimulation(n_weeks=70, n_geos=request.param, channels=DEFAULT_CHANNELS[:3])
    brand = simulate_brand(sim, np.random.default_rng(1))
    return dataset_from_frame(brand.frame, parse_config(brand.config).data)


def test_budget_with_historical_shares_and_geo_split(data: MMMDataset) -> None:
    plan = plan_from_dict(data, {"budget": 1e6, "horizon_weeks": 13})
    assert plan.spend.shape == (data.n_geos, 13, 3)
    assert plan.total == pytest.approx(1e6)
    np.testing.assert_allclose(
        np.array(list(plan.by_channel().values())) / 1e6, channel_shares(data), rtol=1e-9
    )
    np.testing.assert_allclose(
        plan.spend.sum(axis=1) / plan.spend.sum(axis=(0, 1)), geo_split(data), rtol=1e-9
    )
    assert plan.start == data.dates[-1] + np.timedelta64(7, "D")


def test_historical_flighting_keeps_totals(data: MMMDataset) -> None:
    raw = {"budget": 5e5, "horizon_weeks": 8, "shares": {"tv": 0.5, "search": 0.5}}
    plan = plan_from_dict(data, {**raw, "flighting": "historical"})
    assert plan.by_channel()["tv"] == pytest.approx(2.5e5)
    assert plan.by_channel()["social"] == 0.0
    flat = plan_from_dict(data, {**raw, "flighting": "flat"})
    assert not np.allclose(plan.spend, flat.spend)  # the weekly shape is the history's


def test_history_is_a_deprecated_alias_of_historical(data: MMMDataset) -> None:
    raw = {"budget": 5e5, "horizon_weeks": 8}
    with pytest.warns(FutureWarning, match="'history' is deprecated; use 'historical'"):
        old = plan_from_dict(data, {**raw, "flighting": "history"})
    np.testing.assert_array_equal(
        old.spend, plan_from_dict(data, {**raw, "flighting": "historical"}).spend
    )


def test_like_last_weeks_scaled(data: MMMDataset) -> None:
    plan = plan_from_dict(data, {"like_last_weeks": 4, "scale": 1.5})
    np.testing.assert_allclose(plan.spend, data.spend[:, -4:] * 1.5)


def test_explicit_spend_lists_and_totals(data: MMMDataset) -> None:
    plan = plan_from_dict(data, {"spend": {"tv": [1.0, 2.0, 3.0], "search": 30.0}})
    assert plan.horizon == 3
    np.testing.assert_allclose(plan.spend[:, :, 0].sum(axis=0), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(plan.spend[:, :, 1].sum(axis=0), [10.0, 10.0, 10.0])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"budjet": 1}, "unknown key 'budjet' \\(did you mean 'budget'\\?\\)"),
        ({"budget": 1e6}, "'budget' needs 'horizon_weeks'"),
        (
            {"budget": 1e6, "horizon_weeks": 4, "shares": {"tvv": 1.0}},
            "unknown channel 'tvv'.*did you mean 'tv'",
        ),
        ({"budget": 1e6, "horizon_weeks": 4, "shares": {"tv": 0.5}}, "sum to 1"),
        (
            {"spend": {"tv": [1.0, -2.0]}},
            "channel 'tv' in period 2 .* expected a finite amount >= 0",
        ),
        ({"like_last_weeks": 0}, "like_last_weeks must be between 1"),
        (
            {"budget": 1e6, "horizon_weeks": 4, "flighting": "bursty"},
            "flighting: expected 'flat' or 'historical'",
        ),
    ],
)
def test_plan_errors_name_the_problem(data: MMMDataset, raw: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SpecError, match=message):
        plan_from_dict(data, raw)


def test_plan_csv_national_rows_split_by_geo(data: MMMDataset, tmp_path: Path) -> None:
    path = tmp_path / "q1.csv"
    path.write_text("period,tv,search,social\n1,100,50,0\n2,100,50,10\n")
    plan = load_plan(path, data)
    assert plan.name == "q1"
    assert plan.horizon == 2
    assert plan.by_channel() == pytest.approx({"tv": 200.0, "search": 100.0, "social": 10.0})


def test_plan_csv_bad_value_names_row_and_column(data: MMMDataset, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("tv,search,social\n100,50,0\n100,lots,10\n")
    with pytest.raises(SpecError, match="column 'search' row 2 is 'lots'"):
        load_plan(path, data)


def test_plan_shape_mismatch_is_an_error(data: MMMDataset) -> None:
    with pytest.raises(SpecError, match="expected \\(geos="):
        Plan(np.zeros((data.n_geos, 4, 2)), data.channels, data.geos, data.dates[-1])
