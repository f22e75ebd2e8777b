"""A synthetic run directory, shaped like what a fit writes, for the report tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mixflow.analysis.schema import RunSummary

N_WEEKS = 60
HOLDOUT_WEEKS = 8
CHANNELS = ("tv", "search", "social")
MAX_LAG = 8

#: Weekly spend level, saturation speed and adstock decay per channel (cycled for more channels).
_CHANNEL_SHAPES = ((20_000.0, 1.2, 0.6), (8_000.0, 2.0, 0.2), (5_000.0, 1.6, 0.4))

RunDirFactory = Callable[..., Path]


def _stat(mean: float, rel: float) -> dict[str, Any]:
    return {"mean": mean, "median": mean * 0.98, "hdi_90": [mean * (1 - rel), mean * (1 + rel)]}


def write_run_dir(
    path: Path,
    channels: Sequence[str] = CHANNELS,
    *,
    kpi_type: str = "revenue",
    ok: bool = True,
    holdout_weeks: int = HOLDOUT_WEEKS,
    method: str = "nuts",
    prior_posterior: bool = True,
    seed: int = 7,
) -> Path:
    """Write summary.json and the CSV tables of a plausible fit into ``path``; return ``path``."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    dates = pd.date_range("2024-01-01", periods=N_WEEKS, freq="W-MON")
    t = np.arange(N_WEEKS)
    intercept = np.full(N_WEEKS, 120_000.0)
    trend = 300.0 * t
    seasonality = 15_000.0 * np.sin(2 * np.pi * t / 52)
    controls = 2_000.0 * rng.standard_normal(N_WEEKS)
    events = np.where(t % 26 == 10, 8_000.0, 0.0)
    baseline = intercept + trend + seasonality + controls + events

    contrib: dict[str, np.ndarray] = {}
    spend: dict[str, float] = {}
    shapes = {name: _CHANNEL_SHAPES[i % len(_CHANNEL_SHAPES)] for i, name in enumerate(channels)}
    for name, (level, speed, _decay) in shapes.items():
        weekly = level * rng.uniform(0.5, 1.5, N_WEEKS)
        spend[name] = float(weekly.sum())
        contrib[name] = 1.5 * level * (1 - np.exp(-speed * weekly / level))
    fitted = baseline + sum(contrib.values())
    actual = fitted + 4_000.0 * rng.standard_normal(N_WEEKS)
    is_holdout = (t >= N_WEEKS - holdout_weeks).astype(int)
    frame = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "actual": actual,
            "fitted": fitted,
            "fitted_hdi_lo": fitted - 6_500.0,
            "fitted_hdi_hi": fitted + 6_500.0,
            "is_holdout": is_holdout,
            "baseline": baseline,
            "intercept": intercept,
            "trend": trend,
            "seasonality": seasonality,
            "controls": controls,
            "events": events,
            **contrib,
        }
    )
    frame.to_csv(path / "contributions.csv", index=False)

    total_spend = sum(spend.values())
    total_kpi = float(actual.sum())
    summary_channels: dict[str, Any] = {}
    curves, adstock, priors = [], [], []
    for name, (_level, speed, decay) in shapes.items():
        total = float(contrib[name].sum())
        roi = total / spend[name]
        summary_channels[name] = {
            "spend": spend[name],
            "spend_share": spend[name] / total_spend,
            "roi": _stat(roi, 0.25),
            "mroi": _stat(roi * 0.6, 0.35),
            "contribution": _stat(total, 0.25),
            "contribution_kpi": _stat(total, 0.25),
            "contribution_share": _stat(total / total_kpi, 0.25),
            "cpa": _stat(spend[name] / total, 0.25) if kpi_type == "conversions" else None,
            "roi_prior": {"median": 0.9, "sigma": 1.0},
        }
        for m in np.linspace(0.0, 2.0, 21):
            value = total * (1 - np.exp(-speed * m)) / (1 - np.exp(-speed))
            curves.append(
                {
                    "channel": name,
                    "multiplier": m,
                    "spend": m * spend[name],
                    "incremental_kpi_mean": value,
                    "incremental_kpi_hdi_lo": value * 0.8,
                    "incremental_kpi_hdi_hi": value * 1.2,
                    "incremental_value_mean": value,
                    "incremental_value_hdi_lo": value * 0.8,
                    "incremental_value_hdi_hi": value * 1.2,
                    "roi_mean": value / (m * spend[name]) if m > 0 else float("nan"),
                }
            )
        weights = decay ** np.arange(MAX_LAG + 1)
        weights /= weights.sum()
        for lag, w in enumerate(weights):
            adstock.append(
                {
                    "channel": name,
                    "lag": lag,
                    "weight_mean": w,
                    "weight_hdi_lo": w * 0.7,
                    "weight_hdi_hi": min(1.0, w * 1.3),
                }
            )
        priors.append(
            {
                "channel": name,
                "quantity": "roi",
                "prior_median": 0.9,
                "prior_hdi_lo": 0.17,
                "prior_hdi_hi": 4.7,
                "posterior_median": roi,
                "posterior_hdi_lo": roi * 0.75,
                "posterior_hdi_hi": roi * 1.25,
            }
        )
    pd.DataFrame(curves).to_csv(path / "response_curves.csv", index=False)
    pd.DataFrame(adstock).to_csv(path / "adstock.csv", index=False)
    if prior_posterior:
        pd.DataFrame(priors).to_csv(path / "prior_posterior.csv", index=False)

    sampled = method == "nuts"
    flags = [] if ok else ["rhat_max 1.083 > 1.01 (worst: beta_tv)", "divergences 37 > 0.5%"]
    summary = RunSummary.model_validate(
        {
            "schema_version": 1,
            "mixflow_version": "0.1.0",
            "name": "brand-x",
            "created_at": "2026-11-28T20:00:00Z",
            "kpi_type": kpi_type,
            "value_unit": "revenue",
            "data": {
                "start": frame["date"].iloc[0],
                "end": frame["date"].iloc[-1],
                "n_periods": N_WEEKS,
                "n_geos": 1,
                "geos": ["national"],
                "channels": list(channels),
                "fingerprint": "ab12cd34ef56",
            },
            "model": {
                "adstock": "geometric",
                "saturation": "hill",
                "max_lag": MAX_LAG,
                "trend": "linear",
                "fourier_terms": 3,
                "likelihood": "normal",
                "prior_parameterization": "roi",
            },
            "method": method,
            "channels": summary_channels,
            "diagnostics": {
                "rhat_max": (1.003 if ok else 1.083) if sampled else None,
                "ess_bulk_min": 812.0 if sampled else None,
                "ess_tail_min": 700.0 if sampled else None,
                "divergences": 0 if ok else 37,
                "divergence_rate": 0.0 if ok else 0.00925,
                "steps_per_draw": 15.2 if sampled else None,
                "fit_seconds": 4.1,
                "method": method,
                "chains": 4,
                "draws": 1000,
                "flags": flags,
                "ok": ok,
            },
            "fit": {
                "r2": 0.93,
                "mape": 0.05,
                "nrmse": 0.06,
                "holdout_weeks": holdout_weeks,
                "holdout_r2": 0.8 if holdout_weeks else None,
                "holdout_mape": 0.07 if holdout_weeks else None,
                "holdout_nrmse": 0.09 if holdout_weeks else None,
            },
        }
    )
    (path / "summary.json").write_text(json.dumps(summary.to_json(), indent=2), encoding="utf-8")
    return path


@pytest.fixture
def make_run_dir(tmp_path: Path) -> RunDirFactory:
    """Factory: ``make_run_dir(name="run", **options)`` writes a run dir under ``tmp_path``."""

    def make(name: str = "run", channels: Sequence[str] = CHANNELS, **options: Any) -> Path:
        return write_run_dir(tmp_path / name, channels, **options)

    return make


@pytest.fixture
def run_dir(make_run_dir: RunDirFactory) -> Path:
    """A healthy NUTS revenue fit: 3 channels, 60 weeks, the last 8 held out."""
    return make_run_dir()


@pytest.fixture(scope="module")
def shared_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The healthy run dir, written once per module for tests that only read the report."""
    return write_run_dir(tmp_path_factory.mktemp("shared_run"))


@pytest.fixture(scope="module")
def hostile_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run dir whose channels are named like markup: a script tag and an attribute breakout."""
    channels = ("<script>alert(1)</script>", '"onmouseover=alert(1) x="', "tv")
    return write_run_dir(tmp_path_factory.mktemp("hostile_run"), channels)
