"""summary.json's channel metrics and fit metrics, recomputed here with plain NumPy from the files
of one real (MAP) fit: the dataset, contributions.csv and response_curves.csv.

MAP gives a single posterior draw, so every posterior statistic (mean, median, HDI) of a per-draw
quantity equals that quantity itself, and the recomputation is exact up to float32 rounding of
the model's arrays (tolerance ``rel=1e-4``, float32 carries ~7 significant digits and the sums
run over 80 weeks).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mixflow.workflow import fit_run

ConfigWriter = Callable[[Path, dict[str, Any]], Path]
HOLDOUT = 8
FIT = {"method": "map", "svi_steps": 200, "progress_bar": False, "holdout_weeks": HOLDOUT}
REL = 1e-4


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    """A MAP fit of the small brand, read as a conversions KPI (so that CPA is reported)."""
    folder = tmp_path_factory.mktemp("cfg")
    cfg_path = small_brand_config(folder, FIT)
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["data"]["kpi_type"] = "conversions"
    cfg_path.write_text(yaml.safe_dump(cfg))
    out = tmp_path_factory.mktemp("fit") / "run"
    fit_run(cfg_path, out)
    return out


@pytest.fixture(scope="module")
def summary(run: Path) -> dict[str, Any]:
    return json.loads((run / "summary.json").read_text())


@pytest.fixture(scope="module")
def data(run: Path) -> pd.DataFrame:
    return pd.read_parquet(run / "dataset.parquet")


@pytest.fixture(scope="module")
def contributions(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "contributions.csv")


def _point(stat: dict[str, Any]) -> float:
    """The single value of a one-draw statistic (mean, median and both HDI ends agree)."""
    values = [stat["mean"], stat["median"], *stat["hdi_90"]]
    assert max(values) - min(values) <= 1e-9 * max(1.0, abs(stat["mean"]))
    return float(stat["mean"])


def _r2_mape_nrmse(actual: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    err = actual - pred
    r2 = 1.0 - np.sum(err**2) / np.sum((actual - np.mean(actual)) ** 2)
    mape = np.mean(np.abs(err) / np.abs(actual))
    nrmse = np.sqrt(np.mean(err**2)) / (np.max(actual) - np.min(actual))
    return float(r2), float(mape), float(nrmse)


def test_the_fit_is_one_national_conversions_map_fit(summary: dict[str, Any]) -> None:
    assert summary["method"] == "map"
    assert summary["kpi_type"] == "conversions"
    assert summary["data"]["n_geos"] == 1  # so contributions.csv (geos summed) is the geo


def test_spend_and_spend_share_are_the_dataset_totals(
    summary: dict[str, Any], data: pd.DataFrame
) -> None:
    channels = summary["data"]["channels"]
    spend = np.array([data[f"spend::{ch}"].sum() for ch in channels])
    for ch, s in zip(channels, spend, strict=True):
        assert summary["channels"][ch]["spend"] == pytest.approx(s, rel=1e-9)
        assert summary["channels"][ch]["spend_share"] == pytest.approx(s / spend.sum(), rel=1e-9)


def test_fit_metrics_match_actual_and_fitted(
    summary: dict[str, Any], contributions: pd.DataFrame, data: pd.DataFrame
) -> None:
    frame = contributions
    # the CSV's actual is the dataset's KPI
    np.testing.assert_allclose(frame["actual"], data["kpi"], rtol=1e-12)
    hold = frame["is_holdout"].to_numpy() == 1
    assert hold.sum() == HOLDOUT and hold[-HOLDOUT:].all()
    fit = summary["fit"]
    assert fit["holdout_weeks"] == HOLDOUT
    a, p = frame["actual"].to_numpy(), frame["fitted"].to_numpy()
    for prefix, rows in (("", ~hold), ("holdout_", hold)):
        r2, mape, nrmse = _r2_mape_nrmse(a[rows], p[rows])
        assert fit[f"{prefix}r2"] == pytest.approx(r2, rel=REL, abs=1e-6)
        assert fit[f"{prefix}mape"] == pytest.approx(mape, rel=REL)
        assert fit[f"{prefix}nrmse"] == pytest.approx(nrmse, rel=REL)
    # a usable fit: the training R² is high and the error small (the brand is the model's form)
    assert fit["r2"] > 0.8 and fit["mape"] < 0.1


def test_fitted_is_baseline_plus_channels(
    summary: dict[str, Any], contributions: pd.DataFrame
) -> None:
    frame = contributions
    channels = summary["data"]["channels"]
    parts = ["intercept", "trend", "seasonality", "controls", "events"]
    np.testing.assert_allclose(frame[parts].sum(axis=1), frame["baseline"], rtol=1e-4)
    np.testing.assert_allclose(
        frame["baseline"] + frame[channels].sum(axis=1), frame["fitted"], rtol=1e-4
    )


def test_contribution_share_is_channel_over_fitted(
    summary: dict[str, Any], contributions: pd.DataFrame
) -> None:
    total = contributions["fitted"].sum()
    for ch in summary["data"]["channels"]:
        expected = contributions[ch].sum() / total
        got = _point(summary["channels"][ch]["contribution_share"])
        assert got == pytest.approx(expected, rel=REL)
        assert 0 < got < 1


def test_roi_and_cpa_follow_from_contribution_and_spend(summary: dict[str, Any]) -> None:
    for ch in summary["data"]["channels"]:
        row = summary["channels"][ch]
        kpi = _point(row["contribution_kpi"])
        value = _point(row["contribution"])
        # no revenue per KPI in a conversions fit: a conversion is the value unit
        assert summary["value_unit"] == "kpi"
        assert value == pytest.approx(kpi, rel=REL)
        assert _point(row["roi"]) == pytest.approx(value / row["spend"], rel=REL)
        assert row["cpa"] is not None
        assert _point(row["cpa"]) == pytest.approx(row["spend"] / kpi, rel=REL)


def test_contribution_is_data_window_plus_a_carryover_tail(
    summary: dict[str, Any], contributions: pd.DataFrame
) -> None:
    # contribution counts the weekly contributions plus the carryover after the last week:
    # at least the CSV's sum, and the tail (at most max_lag=8 decaying weeks of a geometric
    # adstock) is a small part of 80 weeks' total
    for ch in summary["data"]["channels"]:
        weekly = contributions[ch].sum()
        total = _point(summary["channels"][ch]["contribution_kpi"])
        assert weekly * (1 - REL) <= total <= weekly * 1.2


def test_mroi_is_the_slope_of_the_response_curve_at_current_spend(
    summary: dict[str, Any], run: Path
) -> None:
    curves = pd.read_csv(run / "response_curves.csv")
    for ch in summary["data"]["channels"]:
        row = summary["channels"][ch]
        c = curves[curves["channel"] == ch].set_index("multiplier")
        value = c["incremental_value_mean"]
        # the curve at today's spend is the contribution
        assert value.loc[1.0] == pytest.approx(_point(row["contribution"]), rel=REL)
        spend = row["spend"]
        below = (value.loc[1.0] - value.loc[0.9]) / (0.1 * spend)
        above = (value.loc[1.1] - value.loc[1.0]) / (0.1 * spend)
        mroi = _point(row["mroi"])
        # mROI is the slope over +1% spend; the curve is concave there (diminishing returns:
        # the slope falls from [0.9, 1.0] to [1.0, 1.1]), so the +1% slope lies between them
        assert above <= below
        assert above * (1 - 1e-3) <= mroi <= below * (1 + 1e-3)
        # and below the average return (ROI) of a concave curve through 0
        assert mroi < _point(row["roi"])
