"""Reach and frequency channels added to a simulated brand, with their known truth.

:func:`add_rf_channels` takes a :func:`~mixflow.datasets.simulate.simulate_brand` result and adds
R&F channels generated inside the model class mixflow fits (:mod:`mixflow.model.rf`): per geo
and week a spend, an average frequency (the channel's ``mean_frequency`` moved week to week by
``frequency_sd`` on the log scale, at least 1) and the reach that spend buys at that frequency
(impressions = spend / cost per impression, reach = impressions / frequency). The media input
is the reach (per capita, in units of its mean active value) weighted by
``hill(f; ec, freq_slope) / hill(f_ref; ec, freq_slope)`` with ``f_ref`` the reach-weighted
mean frequency, then geometric adstock and a Hill curve; its coefficient makes an average
active week add ``effect_share`` of the baseline. True ROI: the contribution over the data
window plus the carryover tail over the spend, as the analysis defines it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mixflow.datasets.simulate import SimulatedBrand
from mixflow.errors import SpecError


@dataclass(frozen=True)
class RfChannelTruth:
    """A simulated reach and frequency channel."""

    name: str
    weekly_spend: float = 30_000.0
    #: share of the baseline KPI value the channel adds in an average active week
    effect_share: float = 0.05
    retention: float = 0.3
    half_saturation: float = 1.0
    slope: float = 1.2
    #: the frequency curve: half-effect frequency and slope
    ec: float = 2.0
    freq_slope: float = 2.5
    mean_frequency: float = 2.5
    frequency_sd: float = 0.3
    cost_per_impression: float = 0.01
    #: spend in bursts with pauses (like the flighted paid channels) instead of always on
    flighted: bool = True

    def __post_init__(self) -> None:
        if self.mean_frequency < 1 or self.frequency_sd < 0:
            raise SpecError(
                f"R&F channel '{self.name}': mean_frequency must be >= 1 and frequency_sd >= 0"
            )


def _hill(x: np.ndarray, half: float, slope: float) -> np.ndarray:
    safe = np.where(x > 0, x, 1.0)
    return np.where(x > 0, 1.0 / (1.0 + (half / safe) ** slope), 0.0)


def _spend(ch: RfChannelTruth, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n,)`` national weekly spend: bursts of 3-7 weeks with pauses of 2-6, or always on."""
    level = ch.weekly_spend * rng.lognormal(0.0, 0.3, n)
    if not ch.flighted:
        return level
    on = np.zeros(n, dtype=bool)
    t = int(rng.integers(0, 4))
    while t < n:
        run = int(rng.integers(3, 8))
        on[t : t + run] = True
        t += run + int(rng.integers(2, 7))
    return np.where(on, 1.8 * level, 0.0)


def add_rf_channels(
    brand: SimulatedBrand, channels: tuple[RfChannelTruth, ...], rng: np.random.Generator
) -> SimulatedBrand:
    """``brand`` with the R&F ``channels`` added: their spend, reach and frequency columns,
    their media entries in the config, their effect in the KPI and their true ROI,
    contribution and spend beside the other channels'. ``true_response`` becomes ``None``
    (it scores the brand's original channels only)."""
    frame = brand.frame.copy()
    cfg: dict[str, Any] = {**brand.config, "data": dict(brand.config["data"])}
    data_cfg = cfg["data"]
    kpi_col, geo_col = data_cfg["kpi_column"], data_cfg.get("geo_column")
    geos = list(pd.unique(frame[geo_col])) if geo_col else ["national"]
    g = len(geos)
    n = len(frame) // g
    lag = int(cfg["model"]["max_lag"])
    kpi = frame[kpi_col].to_numpy(dtype=np.float64).reshape(g, n)
    pop = frame["population"].to_numpy().reshape(g, n)[:, 0] if geo_col else np.ones(1)
    pop_share = pop / pop.sum()
    base = float(kpi.sum(axis=0).mean())  # the national weekly KPI the effects are shares of
    media = list(data_cfg["media"])
    true_roi, true_contrib, spend_tot = (
        dict(brand.true_roi),
        dict(brand.true_contribution),
        dict(brand.spend),
    )
    added = np.zeros((g, n))
    for ch in channels:
        national = _spend(ch, n, rng)
        split = pop_share[:, None] * rng.lognormal(0.0, 0.35, (g, n))
        spend = national[None, :] * split / split.sum(axis=0, keepdims=True)  # (G, T)
        freq = np.maximum(ch.mean_frequency * rng.lognormal(0.0, ch.frequency_sd, (g, n)), 1.0)
        freq = np.where(spend > 0, freq, 0.0)
        reach = np.where(spend > 0, spend / ch.cost_per_impression / np.maximum(freq, 1.0), 0.0)
        ref = float((reach * freq).sum() / reach.sum())
        gain = _hill(freq, ch.ec, ch.freq_slope) / _hill(np.asarray(ref), ch.ec, ch.freq_slope)
        pc = reach / pop[:, None]
        x = np.concatenate([pc / pc[pc > 0].mean() * gain, np.zeros((g, lag))], axis=1)
        w = ch.retention ** np.arange(lag + 1)
        w = w / w.sum()
        xa = np.stack([np.convolve(x[i], w)[: n + lag] for i in range(g)])
        s = _hill(xa, ch.half_saturation, ch.slope)  # (G, T + L)
        active = national > 0
        mean_s = float(s[:, :n][:, active].mean())
        beta = ch.effect_share * base / max(mean_s, 1e-12)
        contrib = beta * pop_share[:, None] * s
        added += contrib[:, :n]
        spend_tot[ch.name] = float(spend.sum())
        true_contrib[ch.name] = float(contrib.sum())
        true_roi[ch.name] = true_contrib[ch.name] / spend_tot[ch.name]
        for suffix, values in (("spend", spend), ("reach", reach), ("frequency", freq)):
            frame[f"{ch.name}_{suffix}"] = values.reshape(-1)
        media.append(
            {
                "name": ch.name,
                "spend_column": f"{ch.name}_spend",
                "reach_column": f"{ch.name}_reach",
                "frequency_column": f"{ch.name}_frequency",
            }
        )
    frame[kpi_col] = (kpi + added).reshape(-1)
    data_cfg["media"] = media
    truth = dict(brand.truth)
    total = float(frame[kpi_col].sum())
    truth["media_share"] = (truth.get("media_share", 0.0) * float(kpi.sum()) + added.sum()) / total
    truth["rf_optimal_frequency"] = {
        ch.name: ch.ec * max(ch.freq_slope - 1.0, 0.0) ** (1.0 / ch.freq_slope)
        if ch.freq_slope > 1
        else 1.0
        for ch in channels
    }
    return replace(
        brand,
        frame=frame,
        config=cfg,
        true_roi=true_roi,
        true_contribution=true_contrib,
        spend=spend_tot,
        truth=truth,
        true_response=None,
    )


#: two R&F channels for tests and benchmarks: one flighted with a steep frequency curve, one
#: always on with a flatter one
DEFAULT_RF_CHANNELS: tuple[RfChannelTruth, ...] = (
    RfChannelTruth("video", 40_000.0, effect_share=0.06, retention=0.4, ec=2.0, freq_slope=3.0),
    RfChannelTruth(
        "ctv",
        25_000.0,
        effect_share=0.04,
        retention=0.2,
        ec=1.8,
        freq_slope=2.0,
        mean_frequency=2.0,
        flighted=False,
    ),
)

#: the R&F recovery study's channels (tests/inference/test_recovery_rf.py, bench/rf_recovery.py):
#: three flighted channels with steep, medium and flat frequency curves
STUDY_RF_CHANNELS: tuple[RfChannelTruth, ...] = (
    RfChannelTruth("video", 40_000.0, effect_share=0.06, retention=0.4, ec=2.0, freq_slope=3.0),
    RfChannelTruth(
        "ctv",
        25_000.0,
        effect_share=0.05,
        retention=0.2,
        ec=1.8,
        freq_slope=2.0,
        mean_frequency=2.0,
    ),
    RfChannelTruth(
        "olv",
        20_000.0,
        effect_share=0.04,
        retention=0.3,
        ec=2.5,
        freq_slope=1.5,
        mean_frequency=3.0,
    ),
)

__all__ = ["DEFAULT_RF_CHANNELS", "STUDY_RF_CHANNELS", "RfChannelTruth", "add_rf_channels"]
