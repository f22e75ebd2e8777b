"""The tables a real fit writes beside summary.json: response_curves.csv, adstock.csv and
prior_posterior.csv (docs/model.md), from one small MAP fit with a stated ROI prior for tv."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mixflow.workflow import fit_run

ConfigWriter = Callable[[Path, dict[str, Any]], Path]
FIT = {"method": "map", "svi_steps": 200, "progress_bar": False, "holdout_weeks": 0}
TV_PRIOR = {"median": 2.5, "sigma": 0.7}
MAX_LAG = 8
#: float32 model arrays: ~7 significant digits
REL = 1e-5


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    folder = tmp_path_factory.mktemp("cfg")
    cfg_path = small_brand_config(folder, FIT)
    cfg = yaml.safe_load(cfg_path.read_text())
    assert cfg["model"]["max_lag"] == MAX_LAG and cfg["model"]["adstock"] == "geometric"
    cfg["model"]["priors"] = {"roi": {"tv": TV_PRIOR}}
    cfg_path.write_text(yaml.safe_dump(cfg))
    out = tmp_path_factory.mktemp("fit") / "run"
    fit_run(cfg_path, out)
    return out


@pytest.fixture(scope="module")
def summary(run: Path) -> dict[str, Any]:
    return json.loads((run / "summary.json").read_text())


@pytest.fixture(scope="module")
def channels(summary: dict[str, Any]) -> list[str]:
    assert summary["data"]["channels"] == ["tv", "search"]
    return list(summary["data"]["channels"])


def test_response_curves_one_monotone_curve_per_channel_from_zero(
    run: Path, summary: dict[str, Any], channels: list[str]
) -> None:
    curves = pd.read_csv(run / "response_curves.csv")
    assert list(curves.columns) == [
        "channel",
        "multiplier",
        "spend",
        "incremental_kpi_mean",
        "incremental_kpi_hdi_lo",
        "incremental_kpi_hdi_hi",
        "incremental_value_mean",
        "incremental_value_hdi_lo",
        "incremental_value_hdi_hi",
        "roi_mean",
    ]
    assert list(curves["channel"].unique()) == channels
    for ch in channels:
        c = curves[curves["channel"] == ch].sort_values("multiplier")
        mult = c["multiplier"].to_numpy()
        np.testing.assert_allclose(mult, np.linspace(0.0, 2.0, 21), atol=1e-9)
        spend = summary["channels"][ch]["spend"]
        np.testing.assert_allclose(c["spend"], mult * spend, rtol=1e-9)
        for col in ("incremental_kpi_mean", "incremental_value_mean"):
            y = c[col].to_numpy()
            assert y[0] == 0.0, f"{ch} {col} at zero spend"
            # non-decreasing in spend (float32 rounding aside), and strictly rising overall
            assert np.all(np.diff(y) >= -REL * y.max()), f"{ch} {col} falls"
            assert y[-1] > y[1] > 0
        lo, mean, hi = (
            c[f"incremental_value_{k}"].to_numpy() for k in ("hdi_lo", "mean", "hdi_hi")
        )
        assert np.all(lo <= mean * (1 + REL) + 1e-6) and np.all(mean <= hi * (1 + REL) + 1e-6)
        # roi_mean is value over spend, undefined (empty) at zero spend
        assert math.isnan(c["roi_mean"].iloc[0])
        np.testing.assert_allclose(
            c["roi_mean"].iloc[1:], (c["incremental_value_mean"] / c["spend"]).iloc[1:], rtol=1e-9
        )
        # at today's spend the curve is the channel's contribution and its ROI
        today = c[np.isclose(c["multiplier"], 1.0)].iloc[0]
        assert today["incremental_value_mean"] == pytest.approx(
            summary["channels"][ch]["contribution"]["mean"], rel=REL
        )
        assert today["roi_mean"] == pytest.approx(summary["channels"][ch]["roi"]["mean"], rel=REL)


def test_adstock_weights_per_channel_are_geometric_and_sum_to_one(
    run: Path, channels: list[str]
) -> None:
    ads = pd.read_csv(run / "adstock.csv")
    assert list(ads.columns) == ["channel", "lag", "weight_mean", "weight_hdi_lo", "weight_hdi_hi"]
    assert list(ads["channel"].unique()) == channels
    pp = pd.read_csv(run / "prior_posterior.csv").set_index(["channel", "quantity"])
    for ch in channels:
        a = ads[ads["channel"] == ch].sort_values("lag")
        assert a["lag"].tolist() == list(range(MAX_LAG + 1))
        w = a["weight_mean"].to_numpy()
        assert np.all(w >= 0)
        assert w.sum() == pytest.approx(1.0, abs=1e-5)
        # geometric: w_l ∝ alpha**l, with alpha the posterior decay in prior_posterior.csv
        alpha = pp.loc[(ch, "adstock.alpha"), "posterior_median"]
        assert 0 < alpha < 1
        expected = alpha ** np.arange(MAX_LAG + 1)
        np.testing.assert_allclose(w, expected / expected.sum(), rtol=1e-4, atol=1e-7)
        assert np.all(np.diff(w) <= 1e-7)  # decaying


def test_prior_posterior_rows_for_every_roi_with_the_config_prior(
    run: Path, summary: dict[str, Any], channels: list[str]
) -> None:
    pp = pd.read_csv(run / "prior_posterior.csv")
    assert list(pp.columns) == [
        "channel",
        "quantity",
        "prior_median",
        "prior_hdi_lo",
        "prior_hdi_hi",
        "posterior_median",
        "posterior_hdi_lo",
        "posterior_hdi_hi",
        "prior_mean",
        "posterior_mean",
    ]
    roi = pp[pp["quantity"] == "roi"].set_index("channel")
    for ch, row in summary["channels"].items():
        # the mean the report's table shows is the summary's mean (one statistic)
        assert roi.loc[ch, "posterior_mean"] == pytest.approx(row["roi"]["mean"], rel=1e-9)
        prior = row["roi_prior"]
        lognormal_mean = prior["median"] * np.exp(prior["sigma"] ** 2 / 2)
        assert roi.loc[ch, "prior_mean"] == pytest.approx(lognormal_mean, rel=1e-9)
    assert sorted(roi.index) == sorted(channels)
    tv = roi.loc["tv"]
    assert tv["prior_median"] == pytest.approx(TV_PRIOR["median"], rel=1e-9)
    # central 90% of a lognormal: median * exp(±1.645 sigma)
    z90 = 1.6448536269514722
    assert tv["prior_hdi_lo"] == pytest.approx(2.5 * math.exp(-z90 * 0.7), rel=1e-6)
    assert tv["prior_hdi_hi"] == pytest.approx(2.5 * math.exp(z90 * 0.7), rel=1e-6)
    # search has no stated prior: the data-derived default, different from tv's stated one
    assert roi.loc["search", "prior_median"] != pytest.approx(TV_PRIOR["median"], rel=1e-3)
    for ch in channels:
        row = summary["channels"][ch]
        assert roi.loc[ch, "prior_median"] == pytest.approx(row["roi_prior"]["median"], rel=1e-9)
        assert roi.loc[ch, "posterior_median"] == pytest.approx(row["roi"]["median"], rel=1e-9)
        assert (
            roi.loc[ch, "prior_hdi_lo"] < roi.loc[ch, "prior_median"] < roi.loc[ch, "prior_hdi_hi"]
        )
    # every channel's adstock and saturation parameters have rows too
    for q in ("adstock.alpha", "saturation.half_saturation", "saturation.slope"):
        assert sorted(pp.loc[pp["quantity"] == q, "channel"]) == sorted(channels), q
