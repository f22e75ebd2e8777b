"""The data contract on small synthetic tables: each check, and the message it gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mixflow.data import KpiType, dataset_from_frame, min_periods
from mixflow.errors import DataError
from mixflow.spec.config import DataConfig

N_WEEKS = 60
START = "2020-01-06"


def weekly_frame(n_weeks: int = N_WEEKS, geos: tuple[str, ...] = ()) -> pd.DataFrame:
    """A valid wide table: national (one row per week) or one row per (geo, week)."""
    rng = np.random.default_rng(0)
    dates = pd.date_range(START, periods=n_weeks, freq="7D").strftime("%Y-%m-%d")
    keys = pd.DataFrame({"date": dates}) if not geos else _geo_keys(geos, dates)
    n = len(keys)
    events = np.full(n, "na", dtype=object)
    events[3], events[10], events[20] = "promo", "Black Friday", " Promo "
    return keys.assign(
        sales=rng.uniform(100.0, 200.0, n),
        rpk=rng.uniform(1.0, 2.0, n),
        tv_spend=rng.uniform(0.0, 50.0, n),
        search_spend=rng.uniform(0.0, 20.0, n),
        search_clicks=rng.uniform(0.0, 900.0, n),
        price=rng.normal(10.0, 1.0, n),
        events=events,
        notes="ignored",
    )


def _geo_keys(geos: tuple[str, ...], dates: pd.Index) -> pd.DataFrame:
    population = {g: 1000.0 * (i + 1) for i, g in enumerate(geos)}
    geo = np.repeat(np.array(geos, dtype=object), len(dates))
    return pd.DataFrame(
        {"geo": geo, "date": np.tile(dates, len(geos)), "population": [population[g] for g in geo]}
    )


def data_config(**overrides: Any) -> DataConfig:
    raw: dict[str, Any] = {
        "path": "data.csv",
        "date_column": "date",
        "kpi_column": "sales",
        "media": [
            {"name": "tv", "spend_column": "tv_spend"},
            {"name": "search", "spend_column": "search_spend", "exposure_column": "search_clicks"},
        ],
        "controls": ["price"],
        "events_column": "events",
    }
    raw.update(overrides)
    return DataConfig.model_validate(raw)


def geo_config(**overrides: Any) -> DataConfig:
    return data_config(geo_column="geo", population_column="population", **overrides)


def with_value(frame: pd.DataFrame, column: str, row: int, value: Any) -> pd.DataFrame:
    """A copy of ``frame`` with ``value`` in 0-based ``row`` of ``column`` (column becomes object)."""
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


# ------------------------------------------------------------------------------ valid input
def test_national_frame_builds_expected_arrays() -> None:
    frame = weekly_frame()
    ds = dataset_from_frame(frame, data_config())
    assert ds.geos == ("national",) and not ds.is_geo
    assert ds.spend.shape == (1, N_WEEKS, 2)
    np.testing.assert_array_equal(ds.kpi[0], frame["sales"])
    np.testing.assert_array_equal(ds.spend[0, :, 1], frame["search_spend"])
    np.testing.assert_array_equal(ds.population, [1.0])
    assert ds.dates[0] == np.datetime64(START) and ds.period_days == 7


def test_exposure_defaults_to_spend_copy() -> None:
    ds = dataset_from_frame(weekly_frame(), data_config())
    assert ds.has_exposure == (False, True)
    np.testing.assert_array_equal(ds.exposure[..., 0], ds.spend[..., 0])
    np.testing.assert_array_equal(ds.exposure[0, :, 1], weekly_frame()["search_clicks"])


def test_rows_are_sorted_by_date() -> None:
    frame = weekly_frame()
    shuffled = frame.sample(frac=1.0, random_state=3)
    ds = dataset_from_frame(shuffled, data_config())
    np.testing.assert_array_equal(ds.kpi[0], frame["sales"])
    assert np.all(np.diff(ds.dates).astype(int) == 7)


def test_input_frame_is_not_mutated() -> None:
    frame = weekly_frame().sample(frac=1.0, random_state=1)
    before = frame.copy()
    dataset_from_frame(frame, data_config())
    pd.testing.assert_frame_equal(frame, before)


def test_daily_data_is_allowed() -> None:
    frame = weekly_frame()
    frame["date"] = pd.date_range(START, periods=N_WEEKS, freq="D").strftime("%Y-%m-%d")
    assert dataset_from_frame(frame, data_config()).period_days == 1


def test_datetime_column_is_accepted() -> None:
    frame = weekly_frame()
    frame["date"] = pd.to_datetime(frame["date"])
    assert dataset_from_frame(frame, data_config()).n_times == N_WEEKS


def test_revenue_kpi_has_unit_revenue_per_kpi() -> None:
    ds = dataset_from_frame(weekly_frame(), data_config())
    assert ds.kpi_type is KpiType.REVENUE and not ds.has_revenue_per_kpi
    np.testing.assert_array_equal(ds.revenue_per_kpi, 1.0)


def test_conversions_kpi_reads_revenue_per_kpi() -> None:
    frame = weekly_frame()
    cfg = data_config(kpi_type="conversions", revenue_per_kpi_column="rpk")
    ds = dataset_from_frame(frame, cfg)
    assert ds.kpi_type is KpiType.CONVERSIONS and ds.has_revenue_per_kpi
    np.testing.assert_array_equal(ds.revenue_per_kpi[0], frame["rpk"])


def test_conversions_kpi_without_revenue_per_kpi_uses_ones() -> None:
    ds = dataset_from_frame(weekly_frame(), data_config(kpi_type="conversions"))
    assert not ds.has_revenue_per_kpi
    np.testing.assert_array_equal(ds.revenue_per_kpi, 1.0)


def test_geo_frame_keeps_first_appearance_order() -> None:
    frame = weekly_frame(geos=("zeta", "alpha", "mid"))
    ds = dataset_from_frame(frame, geo_config())
    assert ds.is_geo and ds.geos == ("zeta", "alpha", "mid")
    assert ds.kpi.shape == (3, N_WEEKS)
    np.testing.assert_array_equal(ds.population, [1000.0, 2000.0, 3000.0])
    alpha = frame[frame["geo"] == "alpha"]
    np.testing.assert_array_equal(ds.spend[1, :, 0], alpha["tv_spend"])


def test_geo_without_population_column_uses_ones() -> None:
    ds = dataset_from_frame(weekly_frame(geos=("a", "b")), data_config(geo_column="geo"))
    np.testing.assert_array_equal(ds.population, [1.0, 1.0])


# ------------------------------------------------------------------------------------ events
def test_events_become_sorted_dummies() -> None:
    ds = dataset_from_frame(weekly_frame(), data_config())
    assert ds.event_names == ("Black Friday", "Promo", "promo")
    assert ds.events.shape == (1, N_WEEKS, 3)
    assert ds.events[0, 3, 2] == 1.0 and ds.events[0, 20, 1] == 1.0
    assert ds.events.sum() == 3.0


def test_events_none_values_are_case_insensitive() -> None:
    frame = weekly_frame()
    frame.loc[[0, 1, 2], "events"] = [" NA ", "None", ""]
    frame.loc[4, "events"] = np.nan
    cfg = data_config(events_none_values=["na", "none", "", "PROMO"])
    assert dataset_from_frame(frame, cfg).event_names == ("Black Friday",)


@pytest.mark.parametrize("value", ["na", np.nan])
def test_events_column_without_events_gives_zero_events(value: str | float) -> None:
    frame = weekly_frame().assign(events=value)
    ds = dataset_from_frame(frame, data_config())
    assert ds.event_names == () and ds.events.shape == (1, N_WEEKS, 0)


# ----------------------------------------------------------------------------------- columns
def test_missing_column_suggests_close_name() -> None:
    cfg = data_config(media=[{"name": "tv", "spend_column": "tv_spnd"}])
    with pytest.raises(
        DataError,
        match=r"column 'tv_spnd' \(media 'tv' spend_column\) not found in data\.csv \(did you mean 'tv_spend'\?\)",
    ) as err:
        dataset_from_frame(weekly_frame(), cfg)
    assert "data.media[0].spend_column" in str(err.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"date_column": "week"}, r"column 'week' \(date_column\) not found"),
        ({"kpi_column": "revenue"}, r"column 'revenue' \(kpi_column\) not found"),
        ({"controls": ["prices"]}, r"column 'prices' \(control\) not found .*did you mean 'price'"),
        ({"events_column": "event"}, r"column 'event' \(events_column\) not found"),
        (
            {"kpi_type": "conversions", "revenue_per_kpi_column": "rev"},
            r"column 'rev' \(revenue_per_kpi_column\) not found",
        ),
        (
            {"media": [{"name": "s", "spend_column": "tv_spend", "exposure_column": "clicks"}]},
            r"column 'clicks' \(media 's' exposure_column\) not found",
        ),
        ({"geo_column": "region"}, r"column 'region' \(geo_column\) not found"),
    ],
)
def test_missing_column_names_role(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(DataError, match=expected):
        dataset_from_frame(weekly_frame(), data_config(**overrides))


def test_missing_population_column() -> None:
    cfg = data_config(geo_column="geo", population_column="pop")
    with pytest.raises(DataError, match=r"column 'pop' \(population_column\) not found"):
        dataset_from_frame(weekly_frame(geos=("a",)), cfg)


def test_all_missing_columns_are_listed() -> None:
    cfg = data_config(kpi_column="kpi", controls=["x"])
    with pytest.raises(DataError, match=r"'kpi' \(kpi_column\).*also missing: 'x' \(control\)"):
        dataset_from_frame(weekly_frame(), cfg)


def test_empty_table() -> None:
    with pytest.raises(DataError, match=r"data\.csv has no data rows"):
        dataset_from_frame(weekly_frame().iloc[:0], data_config())


# ----------------------------------------------------------------------------------- numbers
def test_non_numeric_value_names_column_row_and_value() -> None:
    frame = with_value(weekly_frame(), "tv_spend", 4, "12,5")
    msg = r"column 'tv_spend' \(media 'tv' spend_column\) has a non-numeric value '12,5' in row 5 \(date 2020-02-03\); expected numbers only"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_nan_names_row_and_date() -> None:
    frame = weekly_frame()
    frame.loc[2, "price"] = np.nan
    msg = r"column 'price' \(control\) has a missing value \(NaN\) in row 3 \(date 2020-01-20\)"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_nan_in_geo_data_names_geo_and_date() -> None:
    frame = weekly_frame(geos=("a", "b"))
    frame.loc[N_WEEKS + 1, "sales"] = np.nan
    msg = r"column 'sales' \(kpi_column\) has a missing value \(NaN\) in row 62 \(geo 'b', date 2020-01-13\)"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, geo_config())


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_value(value: float) -> None:
    frame = weekly_frame()
    frame.loc[7, "search_clicks"] = value
    msg = r"column 'search_clicks' \(media 'search' exposure_column\) has an infinite value -?inf in row 8"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_row_numbers_follow_original_order() -> None:
    frame = weekly_frame().iloc[::-1].reset_index(drop=True)
    frame.loc[0, "price"] = np.nan  # the last week, first row of this file
    with pytest.raises(DataError, match=r"in row 1 \(date 2021-02-22\)"):
        dataset_from_frame(frame, data_config())


def test_negative_spend() -> None:
    frame = weekly_frame()
    frame.loc[9, "tv_spend"] = -5.5
    msg = r"column 'tv_spend' \(media 'tv' spend_column\) has the value -5\.5 in row 10 \(date 2020-03-09\); expected values >= 0"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_negative_exposure() -> None:
    frame = weekly_frame()
    frame.loc[0, "search_clicks"] = -1.0
    with pytest.raises(DataError, match=r"column 'search_clicks' .* value -1\.0 in row 1"):
        dataset_from_frame(frame, data_config())


def test_negative_kpi() -> None:
    frame = weekly_frame()
    frame.loc[5, "sales"] = -3.0
    with pytest.raises(
        DataError, match=r"column 'sales' \(kpi_column\) has the value -3\.0 in row 6"
    ):
        dataset_from_frame(frame, data_config())


def test_constant_kpi() -> None:
    frame = weekly_frame().assign(sales=42.0)
    with pytest.raises(
        DataError, match=r"column 'sales' \(kpi_column\) is constant \(42\.0 in every row\)"
    ):
        dataset_from_frame(frame, data_config())


def test_non_positive_revenue_per_kpi() -> None:
    frame = weekly_frame()
    frame.loc[11, "rpk"] = 0.0
    cfg = data_config(kpi_type="conversions", revenue_per_kpi_column="rpk")
    msg = r"column 'rpk' \(revenue_per_kpi_column\) has the value 0\.0 in row 12 .*expected values > 0"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, cfg)


# ------------------------------------------------------------------------------------- dates
def test_unparseable_date() -> None:
    frame = with_value(weekly_frame(), "date", 6, "2020-02-31")
    msg = r"column 'date' \(date_column\) has an unparseable date '2020-02-31' in row 7; expected ISO dates"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_missing_date() -> None:
    frame = with_value(weekly_frame(), "date", 0, np.nan)
    with pytest.raises(DataError, match=r"unparseable date nan in row 1"):
        dataset_from_frame(frame, data_config())


def test_duplicate_date() -> None:
    frame = with_value(weekly_frame(), "date", 3, "2020-01-20")
    msg = r"date 2020-01-20 appears more than once in column 'date' \(date_column\) \(rows 3, 4\); expected one row per date"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_duplicate_geo_date_pair() -> None:
    frame = weekly_frame(geos=("a", "b"))
    frame = with_value(frame, "date", N_WEEKS + 5, frame["date"].iloc[N_WEEKS + 4])
    msg = r"geo 'b' has date 2020-02-03 more than once \(rows 65, 66\); expected one row per geo and date"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, geo_config())


def test_gap_in_dates() -> None:
    frame = weekly_frame().drop(index=8)
    msg = r"dates are not evenly spaced: expected 7 days between rows, found 14 days between 2020-02-24 and 2020-03-09 \(a missing period\?\)"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_irregular_dates() -> None:
    frame = with_value(weekly_frame(), "date", 2, "2020-01-21")
    msg = r"expected 7 days between rows, found 8 days between 2020-01-13 and 2020-01-21 \(irregular spacing\)"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_unbalanced_geo_panel() -> None:
    frame = weekly_frame(geos=("a", "b", "c"))
    frame = frame.drop(index=[N_WEEKS + 2, N_WEEKS + 3])
    msg = r"unbalanced geo panel: geo 'b' has 58 of the 60 dates and lacks 2: 2020-01-20, 2020-01-27; every geo must have the same dates \(1 of 3 geos are incomplete\)"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, geo_config())


def test_empty_geo_name() -> None:
    frame = with_value(weekly_frame(geos=("a", "b")), "geo", 4, np.nan)
    with pytest.raises(DataError, match=r"column 'geo' \(geo_column\) is empty in row 5"):
        dataset_from_frame(frame, geo_config())


# --------------------------------------------------------------------------------- geo values
def test_population_must_be_positive() -> None:
    frame = weekly_frame(geos=("a", "b")).assign(population=0.0)
    msg = r"column 'population' \(population_column\) has the value 0\.0 in row 1 \(geo 'a', date 2020-01-06\); expected values > 0"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, geo_config())


def test_population_must_be_constant_within_geo() -> None:
    frame = weekly_frame(geos=("a", "b"))
    frame.loc[N_WEEKS + 9, "population"] = 2500.0
    msg = r"column 'population' \(population_column\) varies within geo 'b': 2000\.0 in row 61 but 2500\.0 in row 70 \(geo 'b', date 2020-03-09\)"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, geo_config())


# ---------------------------------------------------------------------------------- channels
def test_channel_that_never_spends() -> None:
    frame = weekly_frame().assign(tv_spend=0.0)
    with pytest.raises(DataError, match=r"media channel 'tv' never spends"):
        dataset_from_frame(frame, data_config())


def test_exposure_all_zero_while_spending() -> None:
    frame = weekly_frame().assign(search_clicks=0.0)
    msg = r"media channel 'search' has spend but column 'search_clicks' \(media 'search' exposure_column\) is 0 in every row"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


# ------------------------------------------------------------------------------------- size
def test_min_periods() -> None:
    assert min_periods(0, 0, 0) == 20
    assert min_periods(2, 1, 3) == 2 * (3 + 8 + 1 + 3 + 6)
    assert min_periods(5, 2, 2) == 66


def test_too_few_periods() -> None:
    frame = weekly_frame(n_weeks=30)
    msg = r"30 periods, need at least 42 for 2 channels, 1 controls and 3 events"
    with pytest.raises(DataError, match=msg):
        dataset_from_frame(frame, data_config())


def test_too_few_periods_counts_dates_not_rows() -> None:
    frame = weekly_frame(n_weeks=30, geos=("a", "b", "c"))
    with pytest.raises(DataError, match=r"30 periods, need at least 42"):
        dataset_from_frame(frame, geo_config())


def test_repeated_column_name() -> None:
    frame = weekly_frame()
    frame = pd.concat([frame, frame[["price"]]], axis=1)
    with pytest.raises(DataError, match=r"column 'price' appears more than once in data\.csv"):
        dataset_from_frame(frame, data_config())
