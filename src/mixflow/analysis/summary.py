"""The analysis of a fit: channel table (ROI, mROI, contribution share, CPA), decomposition over
time, response curves, adstock curves, fit quality; as a typed :class:`RunSummary` (what
``summary.json`` holds) and pandas tables."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mixflow.analysis.component_priors import component_prior_rows
from mixflow.analysis.draws import BASELINE_PARTS, DrawQuantities, compute_draws
from mixflow.analysis.extras import (
    compute_extras,
    extras_columns,
    extras_summaries,
    media_multiplier_columns,
)
from mixflow.analysis.metrics import fit_metrics
from mixflow.analysis.rf import frequency_summaries
from mixflow.analysis.schema import (
    POINT_ESTIMATE_METHODS,
    SUMMARY_SCHEMA_VERSION,
    WEAK_IDENTIFICATION_SD_RATIO,
    BaselineSummary,
    ChannelSummary,
    DataSummary,
    DiagnosticsSummary,
    FitSummary,
    Interval,
    ModelSummary,
    RoiPrior,
    RunSummary,
    is_weakly_identified,
)
from mixflow.analysis.stats import hdi, stat
from mixflow.data.dataset import KpiType
from mixflow.posterior.posterior import Posterior
from mixflow.spec.model_spec import FitMethod, PriorParameterization

Z90 = 1.6448536269514722
#: fewest posterior predictive draws for a predictive coverage (a point estimate has one)
MIN_COVERAGE_DRAWS = 20


def _interval(draws: np.ndarray) -> Interval:
    return Interval.model_validate(stat(draws))


@dataclass(frozen=True, eq=False)
class Analysis:
    summary: RunSummary
    contributions: pd.DataFrame
    response_curves: pd.DataFrame
    adstock: pd.DataFrame
    prior_posterior: pd.DataFrame


def _channel_table(posterior: Posterior, q: DrawQuantities) -> dict[str, ChannelSummary]:
    data, design = posterior.dataset, posterior.design
    # a spread needs posterior draws (not MAP's one point) and ROI priors to compare with
    judge_spread = (
        posterior.method is not FitMethod.MAP
        and posterior.spec.priors.parameterization is PriorParameterization.ROI
    )
    t_obs = data.n_times
    spend = data.spend.sum(axis=(0, 1))
    spend_share = spend / spend.sum()
    total_fitted = q.fitted_kpi[:, :t_obs].sum(axis=1)  # (S,)
    share = q.media_kpi.sum(axis=1) / total_fitted[:, None]  # (S, C) data window
    roi = q.contribution_value / spend[None, :]
    weekly_spend = data.spend.sum(axis=0)  # (T, C)
    conversions = data.kpi_type is KpiType.CONVERSIONS
    out: dict[str, ChannelSummary] = {}
    for i, ch in enumerate(data.channels):
        log_sd = _log_sd(roi[:, i])
        sigma = float(design.roi_scale[i])
        ratio = log_sd / sigma if judge_spread and log_sd is not None else None
        out[ch] = ChannelSummary(
            spend=float(spend[i]),
            spend_share=float(spend_share[i]),
            roi=_interval(roi[:, i]),
            mroi=_interval(q.mroi[:, i]),
            contribution=_interval(q.contribution_value[:, i]),
            contribution_kpi=_interval(q.contribution_kpi[:, i]),
            contribution_share=_interval(share[:, i]),
            cpa=_interval(spend[i] / np.maximum(q.contribution_kpi[:, i], 1e-12))
            if conversions
            else None,
            roi_prior=RoiPrior(
                median=float(math.exp(design.roi_loc[i])),
                sigma=sigma,
                # posterior log-sd / prior log-sd: near 1, the data did not inform the ROI
                sd_ratio=ratio,
                weakly_identified=is_weakly_identified(ratio),
            ),
            roi_log_sd=log_sd,
            spend_weeks_share=float(np.mean(weekly_spend[:, i] > 0)),
        )
    return out


def _log_sd(draws: np.ndarray) -> float | None:
    """Standard deviation of ``log(draws)`` (the lognormal ``sigma`` of a posterior), ``None``
    when a draw is not positive."""
    arr = np.asarray(draws, dtype=np.float64)
    if not np.all(arr > 0):
        return None
    return float(np.std(np.log(arr)))


def _baseline_section(q: DrawQuantities) -> BaselineSummary:
    """How often the baseline (KPI without media, geos summed) is negative over the draws.

    ``negative_weeks_histogram`` lists ``[weeks, draws]`` pairs: ``draws`` posterior draws have a
    negative baseline in exactly ``weeks`` periods (pairs with no draws are left out), so the share
    of draws negative in more than any number of weeks can be read off it.
    """
    base = q.baseline_kpi["baseline"]  # (S, T)
    negative_weeks = (base < 0).sum(axis=1)
    weeks, draws = np.unique(negative_weeks, return_counts=True)
    return BaselineSummary(
        n_draws=int(base.shape[0]),
        n_weeks=int(base.shape[1]),
        prob_negative_any_week=float(np.mean(negative_weeks > 0)),
        prob_negative_total=float(np.mean(base.sum(axis=1) < 0)),
        negative_weeks_histogram=[(int(w), int(d)) for w, d in zip(weeks, draws, strict=True)],
    )


def _fit_section(posterior: Posterior, q: DrawQuantities) -> FitSummary:
    actual = posterior.dataset.kpi
    pred = q.fitted_kpi_geo.mean(axis=0)
    mask = posterior.design.obs_mask
    train = fit_metrics(actual[:, mask], pred[:, mask])
    out: dict[str, Any] = dict(train)
    hw = posterior.holdout_weeks
    out["holdout_weeks"] = hw
    hold = fit_metrics(actual[:, ~mask], pred[:, ~mask]) if hw else {}
    for k in ("r2", "mape", "nrmse"):
        out[f"holdout_{k}"] = hold.get(k) if hw else None
    if posterior.method.value not in POINT_ESTIMATE_METHODS:
        pred_kpi = posterior.predictive.kpi  # (chains, D, G, T)
        draws = np.asarray(pred_kpi, np.float64).reshape(-1, *pred_kpi.shape[2:])  # (S, G, T)
        if draws.shape[0] >= MIN_COVERAGE_DRAWS:
            inside = predictive_coverage(actual, draws)
            out["coverage_90"] = float(inside[:, mask].mean())
            out["holdout_coverage_90"] = float(inside[:, ~mask].mean()) if hw else None
    return FitSummary.model_validate(out)


def predictive_coverage(actual: np.ndarray, draws: np.ndarray, prob: float = 0.9) -> np.ndarray:
    """``(G, T)`` True where ``actual (G, T)`` lies in the central ``prob`` interval of the
    posterior predictive ``draws (S, G, T)`` (per-observation quantiles)."""
    tail = (1.0 - prob) / 2.0
    lo, hi = np.quantile(draws, [tail, 1.0 - tail], axis=0)
    a = np.asarray(actual, np.float64)
    return (a >= lo) & (a <= hi)


def _contributions_frame(posterior: Posterior, q: DrawQuantities) -> pd.DataFrame:
    data = posterior.dataset
    band = hdi(q.fitted_kpi)
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(data.dates).strftime("%Y-%m-%d"),
            "actual": data.kpi.sum(axis=0),
            "fitted": q.fitted_kpi.mean(axis=0),
            "fitted_hdi_lo": band[:, 0],
            "fitted_hdi_hi": band[:, 1],
            "is_holdout": (~posterior.design.obs_mask).astype(int),
            "baseline": q.baseline_kpi["baseline"].mean(axis=0),
        }
    )
    for part in BASELINE_PARTS:
        frame[part] = q.baseline_kpi[part].mean(axis=0)
    for i, ch in enumerate(data.channels):
        frame[ch] = q.media_kpi[:, :, i].mean(axis=0)
    return frame


def _curves_frame(posterior: Posterior, q: DrawQuantities) -> pd.DataFrame:
    spend = posterior.dataset.spend.sum(axis=(0, 1))
    rows = []
    kpi_band = hdi(q.curve_kpi)  # (M, C, 2)
    value_band = hdi(q.curve_value)
    for i, ch in enumerate(posterior.dataset.channels):
        for m_idx, m in enumerate(q.multipliers):
            value_mean = float(q.curve_value[:, m_idx, i].mean())
            s = float(m * spend[i])
            rows.append(
                {
                    "channel": ch,
                    "multiplier": float(m),
                    "spend": s,
                    "incremental_kpi_mean": float(q.curve_kpi[:, m_idx, i].mean()),
                    "incremental_kpi_hdi_lo": float(kpi_band[m_idx, i, 0]),
                    "incremental_kpi_hdi_hi": float(kpi_band[m_idx, i, 1]),
                    "incremental_value_mean": value_mean,
                    "incremental_value_hdi_lo": float(value_band[m_idx, i, 0]),
                    "incremental_value_hdi_hi": float(value_band[m_idx, i, 1]),
                    "roi_mean": value_mean / s if s > 0 else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def _adstock_frame(posterior: Posterior, q: DrawQuantities) -> pd.DataFrame:
    band = hdi(q.adstock)
    rows = []
    for i, ch in enumerate(posterior.dataset.channels):
        for lag in range(q.adstock.shape[-1]):
            rows.append(
                {
                    "channel": ch,
                    "lag": lag,
                    "weight_mean": float(q.adstock[:, i, lag].mean()),
                    "weight_hdi_lo": float(band[i, lag, 0]),
                    "weight_hdi_hi": float(band[i, lag, 1]),
                }
            )
    return pd.DataFrame(rows)


def _prior_posterior_frame(channels: dict[str, ChannelSummary]) -> pd.DataFrame:
    rows = []
    for ch, v in channels.items():
        prior = v.roi_prior
        assert prior is not None  # analyze always states the ROI prior
        rows.append(
            {
                "channel": ch,
                "quantity": "roi",
                "prior_median": prior.median,
                "prior_hdi_lo": prior.median * math.exp(-Z90 * prior.sigma),
                "prior_hdi_hi": prior.median * math.exp(Z90 * prior.sigma),
                "posterior_median": v.roi.median,
                "posterior_hdi_lo": v.roi.hdi_90[0],
                "posterior_hdi_hi": v.roi.hdi_90[1],
                # the lognormal prior's mean: every table shows means (POINT_STATISTIC)
                "prior_mean": prior.median * math.exp(prior.sigma**2 / 2.0),
                "posterior_mean": v.roi.mean,
            }
        )
    return pd.DataFrame(rows)


__all__ = ["WEAK_IDENTIFICATION_SD_RATIO", "Analysis", "analyze", "predictive_coverage"]


def analyze(posterior: Posterior, max_draws: int | None = 1000) -> Analysis:
    """Everything a report needs, from the posterior alone (deterministic)."""
    from mixflow import __version__

    q = compute_draws(posterior, max_draws=max_draws)
    extras = compute_extras(posterior, max_draws=max_draws)
    organic, treatments = extras_summaries(extras, q.fitted_kpi[:, : posterior.dataset.n_times])
    data = posterior.dataset
    spec = posterior.spec
    channels = _channel_table(posterior, q)
    for ch, freq in frequency_summaries(data, posterior.flat_samples(max_draws)).items():
        channels[ch] = channels[ch].model_copy(update={"frequency": freq})  # R&F channels
    summary = RunSummary(
        schema_version=SUMMARY_SCHEMA_VERSION,
        mixflow_version=__version__,
        name=posterior.config.name or "mixflow-model",
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        kpi_type=data.kpi_type.value,
        value_unit="revenue" if data.value_is_currency else "kpi",
        data=DataSummary(
            start=str(data.dates[0]),
            end=str(data.dates[-1]),
            n_periods=data.n_times,
            n_geos=data.n_geos,
            geos=list(data.geos),
            channels=list(data.channels),
            fingerprint=data.fingerprint(),
        ),
        model=ModelSummary(
            adstock=spec.adstock.value,
            saturation=spec.saturation.value,
            max_lag=spec.max_lag,
            trend=spec.trend.value,
            fourier_terms=spec.fourier_terms,
            likelihood=spec.likelihood.value,
            prior_parameterization=spec.priors.parameterization.value,
            geo_saturation=spec.geo_saturation.value if data.n_geos > 1 else None,
            time_varying_media=spec.time_varying_media,
        ),
        method=posterior.method.value,
        channels=channels,
        diagnostics=DiagnosticsSummary.model_validate(posterior.diagnostics.to_dict()),
        fit=_fit_section(posterior, q),
        baseline=_baseline_section(q),
        organic=organic,
        treatments=treatments,
    )
    contributions = _contributions_frame(posterior, q)
    for column, values in extras_columns(extras).items():
        contributions[column] = values
    for column, values in media_multiplier_columns(posterior).items():
        contributions[column] = values
    return Analysis(
        summary=summary,
        contributions=contributions,
        response_curves=_curves_frame(posterior, q),
        adstock=_adstock_frame(posterior, q),
        prior_posterior=pd.concat(
            [_prior_posterior_frame(channels), component_prior_rows(posterior)], ignore_index=True
        ),
    )
